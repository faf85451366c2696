"""Producer id allocation."""

from kgw.producers import ID_BLOCK, ProducerIds


def test_producer_ids_are_unique_across_restarts(tmp_path):
    first = ProducerIds(tmp_path)
    ids = [first.new_producer_id() for _ in range(3)]
    later = ProducerIds(tmp_path).new_producer_id()
    assert ids == [0, 1, 2]
    assert later >= ID_BLOCK
