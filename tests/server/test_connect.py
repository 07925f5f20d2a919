# What the Python parts of the server tests share: a connection to the server under test, over
# TLS (verified against the test's certificate) when the test runs with GATEHOUSE_TEST_CA set.
import os
import socket
import ssl


def connect(address, timeout=None):
    """A socket connected to `address` (HOST:PORT)."""
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    ca = os.environ.get("GATEHOUSE_TEST_CA")
    if ca:
        s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname=host)
    return s
