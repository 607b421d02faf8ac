"""A broken memcached for tests/test_local.py: speaks enough of the ASCII protocol for
memaslap, and fails in one way. Run inside the DUT's namespace:

    python brokenmc.py <address> <port> <mode>

modes:
  server-error  every set answered "SERVER_ERROR out of memory storing object"
  garbage       every command answered with a line that is no memcached reply
  close         a working store, but each connection closed after CLOSE_AFTER commands
  wrong-data    a working store whose gets return the stored value with its first byte
                changed (same length)
  forget        every set answered STORED, every get answered with nothing found
"""

from __future__ import annotations

import socket
import socketserver
import sys

CLOSE_AFTER = 50   # commands per connection before "close" hangs up: well inside 1 s
MODES = ("server-error", "garbage", "close", "wrong-data", "forget")


class Handler(socketserver.StreamRequestHandler):
    mode = ""
    store: dict[bytes, bytes] = {}

    def reply(self, line: bytes) -> None:
        """One reply in one write (no Nagle: memaslap waits for each)."""
        self.wfile.write(line + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        commands = 0
        for line in self.rfile:
            words = line.split()
            if not words:
                continue
            commands += 1
            if words[0] == b"set" and len(words) >= 5:
                data = self.rfile.read(int(words[4]) + 2)[:-2]
                if self.mode == "server-error":
                    self.reply(b"SERVER_ERROR out of memory storing object")
                elif self.mode == "garbage":
                    self.reply(b"HELLO THERE")
                else:
                    if self.mode != "forget":
                        self.store[words[1]] = data
                    self.reply(b"STORED")
            elif words[0] == b"get" and len(words) >= 2:
                if self.mode == "garbage":
                    self.reply(b"HELLO THERE")
                    continue
                found = []
                for key in words[1:]:
                    value = self.store.get(key)
                    if value is None:
                        continue
                    if self.mode == "wrong-data" and value:
                        value = bytes([value[0] ^ 1]) + value[1:]
                    found.append(b"VALUE %s 0 %d\r\n%s\r\n" % (key, len(value), value))
                self.reply(b"".join(found) + b"END")
            else:
                self.reply(b"ERROR")
            if self.mode == "close" and commands >= CLOSE_AFTER:
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in MODES:
        print(f"usage: brokenmc.py <address> <port> <{'|'.join(MODES)}>", file=sys.stderr)
        return 2
    Handler.mode = argv[2]
    with Server((argv[0], int(argv[1])), Handler) as server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
