"""The layout of the compiled plan's index file (`plan.index`): what `herald compile` writes
and the function reads through mmap, with the standard library only.

One file, little-endian, every section aligned to 8 bytes:

    magic (8 bytes) | version (u32) | section count (u32) | (offset, length) per section (u64 each)

then the sections, in SECTIONS order. Columns hold one value per delivery, in due order:

    due       int64   due time, seconds since the epoch (UTC); sorted: the binary search
    campaign  uint32  row of the campaign table
    post      uint32  the part's id (`launch`, `launch.2`), in the string table
    channel   uint32  the channel's name (`x`, `bluesky`...), in the string table
    account   uint32  the account's id, in the string table
    parent    int32   position of the part this one replies to, -1 for none

The campaign table holds, per campaign: its id and file (string table) and its max_lateness
in seconds. The file table is the fingerprint: per file under the folder, its path (string
table), size, mtime in ns and SHA-256. Strings are UTF-8 in one blob, with uint64 offsets
(string n is blob[offsets[n]:offsets[n+1]]). `meta` is a small JSON object: the accounts
by channel, and the campaigns refused. Channels and accounts are strings, never codes, so
a new channel needs no new format.

Changing any of this means a new VERSION: an index of another version is refused, and the
function loads the campaigns instead.
"""

from __future__ import annotations

import struct

INDEX_NAME = "plan.index"
# Indexes herald wrote before this format (plan.json): never campaign files.
OLD_INDEX_NAMES = frozenset({"plan.json"})
MAGIC = b"HERALDPI"
VERSION = 2  # version 1 was plan.json

SECTIONS = (
    "meta",
    "string_offsets",
    "strings",
    "due",
    "campaign",
    "post",
    "channel",
    "account",
    "parent",
    "campaign_id",
    "campaign_file",
    "campaign_lateness",
    "file_path",
    "file_size",
    "file_mtime",
    "file_sha256",
)
# The array typecode of each column section (stdlib `array`, native sizes on Linux/macOS
# x86-64 and arm64: q = 8 bytes, I = 4, i = 4).
TYPECODES = {
    "string_offsets": "q",
    "due": "q",
    "campaign": "I",
    "post": "I",
    "channel": "I",
    "account": "I",
    "parent": "i",
    "campaign_id": "I",
    "campaign_file": "I",
    "campaign_lateness": "q",
    "file_path": "I",
    "file_size": "q",
    "file_mtime": "q",
}
HASH_BYTES = 32  # one SHA-256 per file in file_sha256

PREFIX = struct.Struct("<8sII")
SECTION = struct.Struct("<QQ")
HEADER_BYTES = PREFIX.size + SECTION.size * len(SECTIONS)
ALIGN = 8


def padding(size: int) -> int:
    """The bytes that bring `size` to the next multiple of ALIGN."""
    return -size % ALIGN
