"""Driver for the OpenSPF RFC 7208 test suite over a loopback DNS server."""
