"""What a bond says about itself: /proc/net/bonding, ifconfig lagg, ovs-appctl bond/show,
teamdctl state, and interface counters."""
