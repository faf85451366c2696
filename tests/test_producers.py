"""Producer id allocation."""

from kgw.producers import ID_BLOCK, ProducerIds


def test_producer_ids_are_unique_across_restarts(tmp_path):
    first = ProducerIds(tmp_path)
    ids = [first.new_producer_id() for _ in range(3)]
    later = ProducerIds(tmp_path).new_producer_id()
    assert ids == [0, 1, 2]
    assert later >= ID_BLOCK


def test_init_producer_bumps_the_epoch_of_a_known_id(tmp_path):
    ids = ProducerIds(tmp_path)
    pid, epoch = ids.init_producer()
    assert epoch == 0
    assert ids.init_producer(pid, epoch) == (pid, 1)
    other, other_epoch = ids.init_producer(-1, -1)
    assert other != pid and other_epoch == 0
