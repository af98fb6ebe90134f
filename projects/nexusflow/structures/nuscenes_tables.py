"""``log.location`` of nuScenes logs, scenes and samples.

The location of a sample is two hops away in the tables (sample ->
scene -> log). Evaluation (per-domain splits), the converters (infos and
``splits.json``) and the domain-split dataset all need it; they read the
tables in their own way (with their own error messages) and hand the
records to :class:`LocationIndex`.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable


@dataclass
class LocationIndex:
    """``log.location`` by log token, scene token, scene name and sample token.

    Attributes:
        by_log (dict[str, str]): log token -> location.
        by_scene (dict[str, str]): scene token -> location.
        by_scene_name (dict[str, str]): scene name (``'scene-0103'``) ->
            location.
        by_sample (dict[str, str]): sample token -> location (empty unless
            sample records were given).
    """
    by_log: Dict[str, str] = field(default_factory=dict)
    by_scene: Dict[str, str] = field(default_factory=dict)
    by_scene_name: Dict[str, str] = field(default_factory=dict)
    by_sample: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, logs: Iterable[dict], scenes: Iterable[dict],
                     samples: Iterable[dict] = ()) -> 'LocationIndex':
        """Builds the index from table records (json rows or devkit records).

        Args:
            logs (Iterable[dict]): ``log`` records (``token``, ``location``).
            scenes (Iterable[dict]): ``scene`` records (``token``, ``name``,
                ``log_token``).
            samples (Iterable[dict]): ``sample`` records (``token``,
                ``scene_token``); may be left out when only scenes are
                needed.

        Returns:
            LocationIndex: the lookup tables.

        Raises:
            KeyError: a scene names a log, or a sample a scene, that is not
                among the given records.
        """
        index = cls()
        index.by_log = {r['token']: r['location'] for r in logs}
        for scene in scenes:
            location = index.by_log[scene['log_token']]
            index.by_scene[scene['token']] = location
            index.by_scene_name[scene['name']] = location
        index.by_sample = {r['token']: index.by_scene[r['scene_token']]
                           for r in samples}
        return index
