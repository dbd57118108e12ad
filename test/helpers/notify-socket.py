# A stand-in for systemd's notify socket (sd_notify(3)): binds a unix datagram socket, prints each
# message on one line, and closes the file descriptors systemd-notify passes for its BARRIER=1 so
# the sender's wait ends as it does under systemd.
import os
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
print('listening', flush=True)
while True:
    message, fds, _flags, _address = socket.recv_fds(sock, 4096, 8)
    for fd in fds:
        os.close(fd)
    print(message.decode().replace('\n', ' ').strip(), flush=True)
