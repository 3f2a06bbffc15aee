"""Image bytes for tests: small, valid, made without an image library."""

from __future__ import annotations

# The smallest valid PNG (1x1, RGBA): the fake X API and the campaign check accept it as an
# image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5270ddb0000000049454e44ae426082"
)
