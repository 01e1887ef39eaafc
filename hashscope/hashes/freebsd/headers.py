"""Numbers from FreeBSD's headers that the hash and its fast path share, defined once."""

#: lagghash layer bits (MBUF_HASHFLAG_L2/L3/L4 in sys/sys/mbuf.h).
HASH_L2, HASH_L3, HASH_L4 = 1 << 2, 1 << 3, 1 << 4
#: sys/sys/fnv_hash.h: the 32-bit FNV prime, and FreeBSD's initial value (not the
#: textbook 0x811c9dc5).
FNV_32_PRIME = 0x01000193
FNV1_32_INIT = 33554467
