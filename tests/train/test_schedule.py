"""Windows per optimizer step and step counts (train/schedule.py)."""

from instructune.train.schedule import steps_per_epoch, total_steps, windows_of

BATCHES = [[i] for i in range(7)]  # seven micro-batches of one row each


def test_one_process_groups_consecutive_micro_batches_and_keeps_the_tail():
    assert windows_of(BATCHES, 3, 1, 0) == [[[0], [1], [2]], [[3], [4], [5]], [[6]]]


def test_processes_take_interleaved_shares_of_each_window():
    assert windows_of(BATCHES, 2, 2, 0) == [[[0], [2]], [[4], [6]]]
    assert windows_of(BATCHES, 2, 2, 1) == [[[1], [3]], [[5]]]


def test_uneven_split_gives_every_process_the_same_windows():
    # 5 micro-batches on 2 processes: the last window has one; process 1's share of it is
    # empty but still a window, so both processes leave the epoch at the same step.
    five = BATCHES[:5]
    assert windows_of(five, 1, 2, 0) == [[[0]], [[2]], [[4]]]
    assert windows_of(five, 1, 2, 1) == [[[1]], [[3]], []]
    for accum in (1, 2, 3):
        n = [len(windows_of(five, accum, 2, r)) for r in (0, 1)]
        assert n[0] == n[1] == steps_per_epoch(5, 1, accum, 2)


def test_steps_per_epoch_rounds_partial_batches_and_windows_up():
    assert steps_per_epoch(10, 4, 1, 1) == 3          # batches 4+4+2
    assert steps_per_epoch(10, 4, 2, 1) == 2          # windows 2+1
    assert steps_per_epoch(10, 1, 2, 2) == 3          # 10 batches / 4 per step
    assert steps_per_epoch(8, 4, 1, 1) == 2


def test_total_steps_caps_epochs_with_max_steps_and_max_steps_alone_without_epochs():
    assert total_steps(10, 2, 0, 4, 1, 1) == 6
    assert total_steps(10, 2, 4, 4, 1, 1) == 4
    assert total_steps(10, 2, 100, 4, 1, 1) == 6
    assert total_steps(10, 0, 100, 4, 1, 1) == 100
