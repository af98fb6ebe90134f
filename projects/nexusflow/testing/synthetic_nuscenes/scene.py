"""One synthetic scene: the ego's drive, its key frames and sweeps, and all
the records and sensor files they produce."""
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from ...structures.nuscenes_meta import CAMERAS
from ...structures.poses import matrix_to_quaternion, yaw_quaternion
from .agents import Agent, agent_boxes, make_agents
from .cameras import CAMERA_MOUNTS, camera_intrinsic, render
from .geometry import camera_to_ego, points_in_boxes, pose_matrix
from .lidar import LIDAR2EGO_TRANSLATION, LIDAR2EGO_YAW, scan, write_points
from .map_expansion import LANE_WIDTH, StraightRoad, make_token
from .plan import KEYFRAME_PERIOD, MAX_EGO_SPEED
from .tables import Tables

ANNOTATION_RANGE = 50.0  # m, objects farther from the ego are not labeled


class SceneWriter:
    """Simulates one scene and writes its records and sensor files.

    All randomness comes from one generator seeded by the global seed and
    the scene number, drawn in a fixed order, so a scene is a function of
    its arguments.

    Args:
        root (str): data root.
        tables (Tables): the tables to fill.
        seed (int): global seed.
        name (str): scene name.
        location (str): log location.
        road (StraightRoad): the road the ego drives on.
        index (int): scene index (used for occlusions).
        samples (int): key frames in the scene.
        sweeps (int): non-key lidar sweeps between key frames.
        image_size (tuple): camera ``(width, height)``.
    """

    def __init__(self, root: str, tables: Tables, seed: int, name: str,
                 location: str, road: StraightRoad, index: int, samples: int,
                 sweeps: int, image_size: Tuple[int, int]) -> None:
        self.root = root
        self.tables = tables
        self.name = name
        self.location = location
        self.road = road
        self.index = index
        self.samples = samples
        self.sweeps = sweeps
        self.image_size = image_size
        self.seed = seed
        self.rng = np.random.default_rng([seed, int(name.split('-')[-1])])
        self.duration = KEYFRAME_PERIOD * (samples - 1)
        self.ego_speed = float(self.rng.uniform(3.0, MAX_EGO_SPEED))
        self.ego_s0 = -self.ego_speed * self.duration / 2
        self.ego_t = road.forward_side * LANE_WIDTH / 2
        self.agents: List[Agent] = make_agents(
            self.rng, road, self.ego_s0, self.ego_speed, self.duration)

    def tok(self, *parts) -> str:
        """A token unique to this scene and seed.

        Args:
            *parts: what identifies the record within the scene.

        Returns:
            str: the token.
        """
        return make_token(self.seed, self.name, *parts)

    def ego_s(self, tau: float) -> float:
        """The ego's along-road position at scene time ``tau``."""
        return self.ego_s0 + self.ego_speed * tau

    def ego_pose(self, tau: float) -> np.ndarray:
        """4x4 ego-to-global at scene time ``tau``."""
        xy = self.road.to_global(self.ego_s(tau), self.ego_t)
        return pose_matrix(self.road.heading, [xy[0], xy[1], 0.0])

    def _annotated_frames(self, taus: np.ndarray) -> List[range]:
        """Per agent, the contiguous key frames where it is labeled."""
        out = []
        for agent in self.agents:
            near = [k for k, tau in enumerate(taus)
                    if np.linalg.norm(agent.state(self.road, tau)[0][:2] -
                                      self.ego_pose(tau)[:2, 3])
                    <= ANNOTATION_RANGE]
            out.append(range(near[0], near[-1] + 1) if near else range(0))
        return out

    def write(self, log_token: str, start_us: int) -> None:
        """Simulates the scene and appends all its records.

        Args:
            log_token (str): the scene's log (already in the tables).
            start_us (int): scene start in microseconds.
        """
        tables, rng = self.tables, self.rng
        taus = KEYFRAME_PERIOD * np.arange(self.samples) + np.r_[
            0.0, rng.uniform(-0.005, 0.005, self.samples - 1)]
        stamps = [start_us + int(round(tau * 1e6)) for tau in taus]
        frames = self._annotated_frames(taus)
        logfile = tables.rows['log'][-1]['logfile']

        lidar_cs = tables.add(
            'calibrated_sensor', self.tok('cs', 'LIDAR_TOP'),
            sensor_token=make_token('sensor', 'LIDAR_TOP'),
            translation=list(LIDAR2EGO_TRANSLATION),
            rotation=yaw_quaternion(LIDAR2EGO_YAW), camera_intrinsic=[])
        lidar2ego = pose_matrix(LIDAR2EGO_YAW, LIDAR2EGO_TRANSLATION)
        width, height = self.image_size
        intrinsic = camera_intrinsic(width, height)
        cam_cs, cam2ego = {}, {}
        for cam in CAMERAS:
            yaw, trans, _ = CAMERA_MOUNTS[cam]
            cam2ego[cam] = camera_to_ego(yaw, trans)
            cam_cs[cam] = tables.add(
                'calibrated_sensor', self.tok('cs', cam),
                sensor_token=make_token('sensor', cam),
                translation=list(trans),
                rotation=matrix_to_quaternion(cam2ego[cam][:3, :3]).tolist(),
                camera_intrinsic=intrinsic.tolist())

        # Occlude one labeled pedestrian frame in every other scene so that
        # some boxes have no lidar points.
        hidden = set()
        walker = next(i for i, a in enumerate(self.agents)
                      if a.attribute == 'pedestrian.moving')
        if self.index % 2 == 0 and len(frames[walker]):
            hidden.add((walker, frames[walker][0]))

        sample_tokens = [self.tok('sample', k) for k in range(self.samples)]
        samples = [dict(token=token, timestamp=stamps[k],
                        scene_token=self.tok('scene'))
                   for k, token in enumerate(sample_tokens)]
        tables.link(samples)
        tables.rows['sample'].extend(samples)

        lidar_chain, cam_chains = [], {cam: [] for cam in CAMERAS}
        annotations = {i: [] for i in range(len(self.agents))}
        for k in range(self.samples):
            visible = [i for i, fr in enumerate(frames) if k in fr]
            # Key frame, then the sweeps up to the next key frame.
            sweep_taus = [taus[k]]
            if k + 1 < self.samples:
                sweep_taus += list(taus[k] + (taus[k + 1] - taus[k]) *
                                   np.arange(1, self.sweeps + 1) /
                                   (self.sweeps + 1))
            for j, tau in enumerate(sweep_taus):
                key = j == 0
                stamp = start_us + int(round(tau * 1e6))
                ego2global = self.ego_pose(tau)
                lidar2global = ego2global @ lidar2ego
                # A sweep shows what the next key frame labels.
                shown = [i for i in visible if (i, k) not in hidden] \
                    if key else [i for i in visible
                                 if k + 1 < self.samples and k + 1 in
                                 frames[i]]
                points = scan(rng, self.road,
                              agent_boxes(self.agents, shown, self.road,
                                          tau), lidar2global)
                if key:
                    self._annotate(k, sample_tokens[k], tau, visible, points,
                                   annotations)
                folder = 'samples' if key else 'sweeps'
                filename = (f'{folder}/LIDAR_TOP/{logfile}__LIDAR_TOP__'
                            f'{stamp}.pcd.bin')
                write_points(osp.join(self.root, filename), points,
                             lidar2global)
                lidar_chain.append(self._sample_data(
                    ('LIDAR_TOP', k, j), sample_tokens[k if key else k + 1],
                    stamp, ego2global, lidar_cs, filename, key, 0, 0, 'pcd'))
            for cam in CAMERAS:
                tau = taus[k] + CAMERA_MOUNTS[cam][2]
                stamp = start_us + int(round(tau * 1e6))
                ego2global = self.ego_pose(tau)
                filename = f'samples/{cam}/{logfile}__{cam}__{stamp}.jpg'
                img = render(self.image_size, ego2global @ cam2ego[cam],
                             intrinsic, self.road, self.ego_s(tau),
                             self.agents, visible, tau)
                path = osp.join(self.root, filename)
                cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
                cam_chains[cam].append(self._sample_data(
                    (cam, k), sample_tokens[k], stamp, ego2global,
                    cam_cs[cam], filename, True, width, height, 'jpg'))
        for chain in [lidar_chain] + list(cam_chains.values()):
            tables.link(chain)
            tables.rows['sample_data'].extend(chain)

        for i, anns in annotations.items():
            if not anns:
                continue
            tables.link(anns)
            tables.rows['sample_annotation'].extend(anns)
            tables.add('instance', self.tok('instance', i),
                       category_token=make_token(
                           'category', self.agents[i].category),
                       nbr_annotations=len(anns),
                       first_annotation_token=anns[0]['token'],
                       last_annotation_token=anns[-1]['token'])
        tables.add('scene', self.tok('scene'), log_token=log_token,
                   nbr_samples=self.samples,
                   first_sample_token=sample_tokens[0],
                   last_sample_token=sample_tokens[-1], name=self.name,
                   description=f'Synthetic straight road in {self.location},'
                   f' ego at {self.ego_speed:.1f} m/s')

    def _sample_data(self, key: tuple, sample_token: str, stamp: int,
                     ego2global: np.ndarray, cs_token: str, filename: str,
                     is_key: bool, width: int, height: int,
                     fileformat: str) -> dict:
        """Adds the ego pose of one sensor reading and returns its
        ``sample_data`` record (linked into its chain later)."""
        pose = self.tables.add(
            'ego_pose', self.tok('ego_pose', *key), timestamp=stamp,
            rotation=yaw_quaternion(self.road.heading),
            translation=ego2global[:3, 3].tolist())
        return dict(token=self.tok('sample_data', *key),
                    sample_token=sample_token, ego_pose_token=pose,
                    calibrated_sensor_token=cs_token, timestamp=stamp,
                    fileformat=fileformat, is_key_frame=is_key,
                    height=height, width=width, filename=filename)

    def _annotate(self, k: int, sample_token: str, tau: float,
                  visible: List[int], points: np.ndarray,
                  annotations: Dict[int, list]) -> None:
        """Adds the key frame's boxes; ``num_lidar_pts`` counts the points
        of this sweep inside each box, so the devkit's filter applies."""
        centres, yaws, sizes = agent_boxes(self.agents, visible, self.road,
                                           tau)
        counts = points_in_boxes(points[:, :3], centres, yaws, sizes).sum(0)
        for i, centre, yaw, count in zip(visible, centres, yaws, counts):
            agent = self.agents[i]
            vis = '1' if count == 0 else '2' if count < 10 else '4'
            attrs = [make_token('attribute', agent.attribute)] \
                if agent.attribute else []
            annotations[i].append(dict(
                token=self.tok('ann', i, k), sample_token=sample_token,
                instance_token=self.tok('instance', i),
                visibility_token=vis, attribute_tokens=attrs,
                translation=centre.tolist(), size=agent.size.tolist(),
                rotation=yaw_quaternion(yaw), num_lidar_pts=int(count),
                num_radar_pts=0))
