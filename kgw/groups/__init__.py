"""Consumer groups: the classic group protocol and committed offsets.

`GroupCoordinator` is the whole of it as the broker and the handlers see it;
the request and result types they exchange are in `kgw.groups.api`.
"""

from .api import (
    GroupDescription, GroupListing, JoinRequest, JoinResult, MemberDescription, OffsetCommit,
    SyncRequest, SyncResult,
)
from .coordinator import GroupCoordinator

__all__ = [
    "GroupCoordinator", "GroupDescription", "GroupListing", "JoinRequest", "JoinResult",
    "MemberDescription", "OffsetCommit", "SyncRequest", "SyncResult",
]
