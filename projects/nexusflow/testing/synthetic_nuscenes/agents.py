"""The objects of a synthetic scene: who is on the road, and where.

Every object moves at constant velocity in road coordinates, so tracks are
smooth and the devkit's box velocities are exact. Each scene holds cars,
trucks, a bus, a trailer, a motorcycle, a bicycle and pedestrians that move,
plus a few static objects (a parked car, a construction vehicle, a barrier,
a traffic cone, a standing pedestrian) so that every nuScenes detection
class has ground truth.
"""
import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .map_expansion import LANE_WIDTH, ROAD_HALF_WIDTH, StraightRoad

# category: (width, length, height) in metres, BGR colour in the cameras.
OBJECT_TYPES = {
    'vehicle.car': ((1.9, 4.6, 1.7), (40, 40, 200)),
    'vehicle.truck': ((2.5, 7.0, 3.0), (40, 140, 220)),
    'vehicle.bus.rigid': ((2.9, 11.0, 3.5), (0, 200, 255)),
    'vehicle.trailer': ((2.9, 12.0, 3.8), (120, 80, 40)),
    'vehicle.construction': ((2.8, 6.5, 3.2), (0, 120, 255)),
    'vehicle.motorcycle': ((0.8, 2.1, 1.5), (200, 40, 200)),
    'vehicle.bicycle': ((0.6, 1.7, 1.3), (200, 200, 40)),
    'human.pedestrian.adult': ((0.7, 0.7, 1.75), (40, 200, 40)),
    'movable_object.barrier': ((0.5, 2.0, 1.0), (230, 230, 230)),
    'movable_object.trafficcone': ((0.4, 0.4, 0.9), (0, 90, 255)),
}


@dataclass
class Agent:
    """An object moving at constant velocity in road coordinates.

    Attributes:
        category (str): nuScenes category name.
        size (np.ndarray): ``(width, length, height)``.
        s0 (float): along-road position at scene time 0.
        t0 (float): lateral position at scene time 0.
        vs (float): along-road speed.
        vt (float): lateral speed.
        yaw (float): heading relative to the road (radians).
        attribute (str): nuScenes attribute name, '' for none.
    """
    category: str
    size: np.ndarray
    s0: float
    t0: float
    vs: float = 0.0
    vt: float = 0.0
    yaw: float = 0.0
    attribute: str = ''

    def state(self, road: StraightRoad, tau: float) -> Tuple[np.ndarray,
                                                             float]:
        """Global box centre and yaw at scene time ``tau``.

        Args:
            road (StraightRoad): the scene's road.
            tau (float): seconds since the scene start.

        Returns:
            tuple: ``(3,)`` centre (on the ground plus half the height) and
            the global yaw.
        """
        xy = road.to_global(self.s0 + self.vs * tau, self.t0 + self.vt * tau)
        centre = np.array([xy[0], xy[1], self.size[2] / 2])
        return centre, road.heading + self.yaw


def agent_boxes(agents: Sequence[Agent], indices: Sequence[int],
                road: StraightRoad,
                tau: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The boxes of some agents at one time, as arrays.

    Args:
        agents (Sequence[Agent]): the scene's agents.
        indices (Sequence[int]): which of them.
        road (StraightRoad): the scene's road.
        tau (float): seconds since the scene start.

    Returns:
        tuple[np.ndarray]: centres ``(M, 3)``, yaws ``(M,)`` and sizes
        ``(M, 3)``.
    """
    states = [agents[i].state(road, tau) for i in indices]
    centres = np.array([c for c, _ in states]).reshape(-1, 3)
    yaws = np.array([y for _, y in states])
    sizes = np.array([agents[i].size for i in indices]).reshape(-1, 3)
    return centres, yaws, sizes


def make_agents(rng: np.random.Generator, road: StraightRoad, ego_s0: float,
                ego_speed: float, duration: float) -> List[Agent]:
    """Places the objects of one scene around the ego's drive.

    Args:
        rng (np.random.Generator): the scene's generator (advanced here).
        road (StraightRoad): the scene's road.
        ego_s0 (float): the ego's along-road position at time 0.
        ego_speed (float): the ego's speed (m/s).
        duration (float): scene length in seconds.

    Returns:
        list[Agent]: moving agents first, then the static ones, then 0-2
        oncoming cars queued behind the trailer.
    """
    fwd, s0, v = road.forward_side, ego_s0, ego_speed

    def agent(category, **kw):
        size = np.array(OBJECT_TYPES[category][0])
        size = size * rng.uniform(0.93, 1.07, size=3)
        return Agent(category, size, **kw)

    bus_speed = rng.uniform(5.0, 8.0)
    trailer_speed = rng.uniform(3.0, 6.0)
    trailer_s = s0 + rng.uniform(20, 45)
    walk = rng.choice([-1.3, 1.3])
    barrier_s = s0 + rng.uniform(15, 30)
    # The argument expressions draw from rng in list order; keep the order.
    agents = [
        agent('vehicle.car', s0=s0 + rng.uniform(10, 20),
              t0=fwd * 1.5 * LANE_WIDTH, vs=v + rng.uniform(-0.3, 0.3),
              attribute='vehicle.moving'),
        agent('vehicle.truck', s0=s0 + rng.uniform(25, 35),
              t0=fwd * 0.5 * LANE_WIDTH, vs=v + rng.uniform(0, 0.5),
              attribute='vehicle.moving'),
        agent('vehicle.bus.rigid',
              s0=s0 + (v + bus_speed) * duration / 2 + rng.uniform(10, 30),
              t0=-fwd * 0.5 * LANE_WIDTH, vs=-bus_speed, yaw=math.pi,
              attribute='vehicle.moving'),
        agent('vehicle.trailer', s0=trailer_s,
              t0=-fwd * 1.5 * LANE_WIDTH, vs=-trailer_speed,
              yaw=math.pi, attribute='vehicle.moving'),
        agent('vehicle.motorcycle', s0=s0 - rng.uniform(10, 15),
              t0=fwd * 1.5 * LANE_WIDTH, vs=v + rng.uniform(0, 0.5),
              attribute='vehicle.moving'),
        agent('vehicle.bicycle', s0=s0 + rng.uniform(5, 25),
              t0=fwd * (ROAD_HALF_WIDTH - 0.8),
              vs=rng.uniform(3.0, 5.0), attribute='cycle.with_rider'),
        agent('human.pedestrian.adult', s0=s0 + rng.uniform(-5, 25),
              t0=-fwd * 9.5, vs=walk, yaw=0.0 if walk > 0 else math.pi,
              attribute='pedestrian.moving'),
        # The static ones.
        agent('human.pedestrian.adult', s0=s0 + rng.uniform(0, 20),
              t0=fwd * 9.8, yaw=rng.uniform(-math.pi, math.pi),
              attribute='pedestrian.standing'),
        agent('vehicle.car', s0=rng.uniform(-10, 10), t0=fwd * 15.0,
              yaw=math.pi / 2, attribute='vehicle.parked'),
        agent('vehicle.construction', s0=rng.uniform(-8, 8),
              t0=fwd * 21.0, attribute='vehicle.parked'),
        agent('movable_object.barrier', s0=barrier_s,
              t0=-fwd * (ROAD_HALF_WIDTH - 0.4)),
        agent('movable_object.trafficcone', s0=barrier_s + 3.0,
              t0=-fwd * (ROAD_HALF_WIDTH - 0.3)),
    ]
    for k in range(int(rng.integers(0, 3))):
        # Oncoming cars queued behind the trailer.
        agents.append(agent('vehicle.car',
                            s0=trailer_s + 16.0 * (k + 1),
                            t0=-fwd * 1.5 * LANE_WIDTH,
                            vs=-trailer_speed, yaw=math.pi,
                            attribute='vehicle.moving'))
    return agents
