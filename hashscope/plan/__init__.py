"""Planning a bond's traffic: the odds of a hash (``odds``), and the ports or addresses
that spread N streams over N members."""
