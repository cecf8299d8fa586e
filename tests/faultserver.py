"""A fault-injecting front for a test site, on 127.0.0.1.

Without a fault it relays every request to the site behind it; with one, it misbehaves at the
socket level as real networks and servers do: never answering, dripping, resetting, truncating,
redirecting in circles, sending endless or explosive bodies, mislabelled charsets, challenge
pages. Faults can be set for every path or for one.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import socketserver
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers import serve_in_thread

CHALLENGE = (Path(__file__).parent / "sim" / "fixtures" / "challenge-sucuri.html").read_bytes()
# Inflates to 100 MB: a few hundred kilobytes on the wire.
BOMB = gzip.compress(b"\0" * 100_000_000, compresslevel=9)

FAULTS = (
    "hang",  # accept, read the request, never answer: a read timeout
    "drip",  # headers, then one byte every half second, forever: the overall deadline
    "reset",  # part of the body, then a TCP reset
    "truncate",  # Content-Length says more than is sent, then the connection closes
    "500",
    "502",
    "503",
    "429",  # with Retry-After: 3600
    "loop",  # redirects to itself
    "ftp",  # redirects to ftp://
    "huge",  # an endless body (never all in memory: capped)
    "bomb",  # gzip that inflates to 100 MB
    "cp1252",  # Windows-1252 bytes, labelled UTF-8
    "garbage",  # malformed HTML
    "empty",  # 200 with an empty body
    "challenge",  # a Sucuri challenge page, 200
)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.faults: dict[str, str] = {}  # path (or "*") -> fault
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        serve_in_thread(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        reader = sock.makefile("rb")
        try:
            while True:
                request_line = reader.readline().decode("latin-1").strip()
                if not request_line:
                    return
                headers: list[tuple[str, str]] = []
                while (line := reader.readline().decode("latin-1").strip()) != "":
                    name, _, value = line.partition(":")
                    headers.append((name.strip(), value.strip()))
                method, target, _ = request_line.split(" ", 2)
                path = urlsplit(target).path
                fault = self.faults.get(path) or self.faults.get("*")
                if fault is None:
                    self._relay(sock, method, target, headers)
                    continue
                self._misbehave(sock, fault, path)
                return
        except OSError:
            return
        finally:
            reader.close()
            sock.close()

    def _relay(
        self, sock: socket.socket, method: str, target: str, headers: list[tuple[str, str]]
    ) -> None:
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            connection.request(
                method, target, headers={k: v for k, v in headers if k.lower() != "host"}
            )
            response = connection.getresponse()
            body = response.read()
            head = [f"HTTP/1.1 {response.status} {response.reason}"]
            head += [
                f"{k}: {v}"
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "connection", "transfer-encoding")
            ]
            head.append(f"Content-Length: {len(body)}")
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        finally:
            connection.close()

    def _misbehave(self, sock: socket.socket, fault: str, path: str) -> None:
        def head(status: str, *lines: str) -> bytes:
            # Every fault ends by closing the connection, so it says so: a client must not race
            # the close by sending its next request (a redirect's) on the same connection.
            lines = (*lines, "Connection: close")
            return ("\r\n".join((f"HTTP/1.1 {status}", *lines)) + "\r\n\r\n").encode()

        if fault == "hang":
            time.sleep(60)
        elif fault == "drip":
            sock.sendall(head("200 OK", "Content-Type: text/html", "Content-Length: 100000"))
            for _ in range(600):
                sock.sendall(b"x")
                time.sleep(0.5)
        elif fault == "reset":
            sock.sendall(
                head("200 OK", "Content-Type: text/html", "Content-Length: 10000") + b"<html>" * 20
            )
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif fault == "truncate":
            sock.sendall(
                head("200 OK", "Content-Type: text/html", "Content-Length: 10000") + b"<html>" * 20
            )
        elif fault in ("500", "502", "503"):
            sock.sendall(
                head(f"{fault} Error", "Content-Type: text/html", "Content-Length: 5") + b"error"
            )
        elif fault == "429":
            sock.sendall(head("429 Too Many Requests", "Retry-After: 3600", "Content-Length: 0"))
        elif fault == "loop":
            sock.sendall(head("302 Found", f"Location: {path}", "Content-Length: 0"))
        elif fault == "ftp":
            sock.sendall(head("302 Found", "Location: ftp://127.0.0.1/file", "Content-Length: 0"))
        elif fault == "huge":
            sock.sendall(head("200 OK", "Content-Type: text/html"))
            chunk = b"<p>" + b"a" * 65533
            for _ in range(5000):  # 300+ MB if anyone read it all
                sock.sendall(chunk)
        elif fault == "bomb":
            sock.sendall(
                head(
                    "200 OK",
                    "Content-Type: text/html",
                    "Content-Encoding: gzip",
                    f"Content-Length: {len(BOMB)}",
                )
                + BOMB
            )
        elif fault in ("cp1252", "garbage", "empty", "challenge"):
            body = {
                "cp1252": "<html><body><article><a href='/x/'>Caf\xe9 \x93quoted\x94 \x96 ok</a></article></body></html>".encode(
                    "latin-1"
                ),
                "garbage": b"<html><<body><div <p>>>unclosed <article><a href='/x/'>t</a></body></htm",
                "empty": b"",
                "challenge": CHALLENGE,
            }[fault]
            sock.sendall(
                head(
                    "200 OK",
                    "Content-Type: text/html; charset=utf-8",
                    f"Content-Length: {len(body)}",
                )
                + body
            )
