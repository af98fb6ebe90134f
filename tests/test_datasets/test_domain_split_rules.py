"""Task definitions, location rules and the masks they give."""
import numpy as np
import pytest

from nexusflow.datasets.domain_split_rules import (DEFAULT_TASKS,
                                                   check_random_ratio,
                                                   check_rules,
                                                   normalize_tasks, task_masks)

CLASSES = ('car', 'truck', 'pedestrian')


def test_normalize_fills_types_and_defaults():
    assert normalize_tasks(None, CLASSES) == DEFAULT_TASKS
    tasks = normalize_tasks(dict(vehicle=dict(classes=['car', 'truck']),
                                 everything={}, lanes=dict(keys=['gt_map'])),
                            CLASSES)
    assert tasks == dict(
        vehicle=dict(type='instances', classes=('car', 'truck')),
        everything=dict(type='instances', classes=None),
        lanes=dict(type='keys', keys=('gt_map', )))
    assert list(tasks) == ['vehicle', 'everything', 'lanes']


@pytest.mark.parametrize('tasks, message', [
    ({}, 'tasks is empty'),
    (dict(v=dict(classes=['tank'])), r"names classes \['tank'\]"),
    (dict(m=dict(type='keys')), 'needs keys'),
    (dict(m=dict(type='pixels')), "type 'pixels'"),
    (dict(m=dict(keys=['a'], colour='red')), r"unknown fields \['colour'\]"),
])
def test_normalize_rejects_bad_tasks(tasks, message):
    with pytest.raises(ValueError, match=message):
        normalize_tasks(tasks, CLASSES)


def test_rules_cover_every_task_and_known_locations():
    rules = check_rules(dict(track='singapore-*'), ['track', 'map'])
    assert rules == dict(track=('singapore-*', ), map=None)
    with pytest.raises(ValueError, match='matches no nuScenes location'):
        check_rules(dict(track=['paris']), ['track'])
    with pytest.raises(ValueError, match=r"rules name tasks \['lanes'\]"):
        check_rules(dict(lanes=['boston-seaport']), ['track'])


def test_random_ratio_checks():
    check_random_ratio(None, dict(track=['boston-*']))
    check_random_ratio(0.3, None)
    with pytest.raises(ValueError, match='either rules or random_ratio'):
        check_random_ratio(0.3, dict(track=['boston-*']))
    with pytest.raises(ValueError, match=r'must be in \[0, 1\]'):
        check_random_ratio(-0.1, None)


def test_rule_masks_follow_the_globs():
    rules = dict(track=('singapore-*', ), map=('boston-seaport', ),
                 vru=None)
    masks = task_masks(['boston-seaport', 'singapore-onenorth'], rules,
                       list(rules))
    assert masks == [dict(track=False, map=True, vru=True),
                     dict(track=True, map=False, vru=True)]


def test_random_masks_hold_the_ratio_for_a_seed():
    rules = dict(track=None, map=None)
    draw = task_masks(['x'] * 4000, rules, list(rules), 0.5, seed=3)
    assert np.mean([[m['track'], m['map']] for m in draw]) == \
        pytest.approx(0.5, abs=0.03)
    # The seed fixes the draw; the locations do not matter.
    assert task_masks(['y'] * 50, rules, list(rules), 0.5, seed=3) == \
        draw[:50]
    assert task_masks(['x'] * 50, rules, list(rules), 0.5, seed=4) != \
        draw[:50]
    low = task_masks(['x'] * 4000, rules, list(rules), 0.2)
    assert np.mean([[m['track'], m['map']] for m in low]) == \
        pytest.approx(0.2, abs=0.03)
