#!/usr/bin/env python3
"""A loopback HTTP server for statetune's offline fetch tests (stdlib only).

    python3 loopback_server.py DIR [--log FILE] [--port N]

Binds 127.0.0.1 (port 0 = any free one unless --port), prints the port on stdout as its first
line, and serves DIR. URL layout (PATH is relative to DIR):

    /files/PATH           the file, with Range support (206 + Content-Range; 416 past the end)
    /404/PATH             404 Not Found
    /cut/N/PATH           the first request for PATH: headers with the full Content-Length, N body
                          bytes, then the connection is closed; later requests: as /files/PATH
    /vanish/N/PATH        headers with the full Content-Length, N body bytes, then the whole server
                          process exits (the test starts a new one to resume)
    /norange/PATH         the whole file with 200, whatever Range asks for
    /redirect/PATH        302 to /files/PATH
    /slow/MS/PATH         as /files/PATH, 4 KiB every MS milliseconds
    /stall/N/PATH         headers with the full Content-Length, N body bytes, then nothing for 60 s

Every request is appended to --log as one JSON line {"method", "path", "range"} (range: the
Range header or null), written before the answer, so a test can assert what was asked.
"""
import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
import time

cut_done = set()
cut_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    log_path = None

    def log_message(self, fmt, *args):  # quiet: the JSON log says what happened
        pass

    def record(self):
        if self.log_path:
            with open(self.log_path, "a") as log:
                log.write(json.dumps({"method": self.command, "path": self.path,
                                      "range": self.headers.get("Range")}) + "\n")

    def local(self, rel):
        full = os.path.realpath(os.path.join(self.root, rel))
        if not full.startswith(os.path.realpath(self.root) + os.sep) or not os.path.isfile(full):
            return None
        return full

    def not_found(self):
        body = b"not found\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        self.record()
        parts = self.path.split("?")[0].lstrip("/").split("/")
        mode = parts[0]
        arg = None
        if mode in ("cut", "vanish", "slow", "stall") and len(parts) > 2:
            arg = int(parts[1])
            rel = "/".join(parts[2:])
        else:
            rel = "/".join(parts[1:])
        if mode == "404":
            return self.not_found()
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "/files/" + rel)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode not in ("files", "cut", "vanish", "norange", "slow", "stall"):
            return self.not_found()
        full = self.local(rel)
        if full is None:
            return self.not_found()
        with open(full, "rb") as f:
            data = f.read()
        if mode == "cut":
            with cut_lock:
                first = rel not in cut_done
                cut_done.add(rel)
            if first:
                return self.send_cut(data, arg, vanish=False)
        if mode == "vanish":
            return self.send_cut(data, arg, vanish=True)
        if mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:arg])
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
            return
        start, end, status = 0, len(data), 200
        wanted = self.headers.get("Range")
        if wanted and mode != "norange" and wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes="):].partition("-")
            start = int(first) if first else 0
            end = int(last) + 1 if last else len(data)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, len(data))
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(data)))
        self.end_headers()
        if head:
            return
        body = data[start:end]
        if mode == "slow":
            for i in range(0, len(body), 4096):
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
                time.sleep(arg / 1000.0)
        else:
            self.wfile.write(body)

    def send_cut(self, data, n, vanish):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:n])
        self.wfile.flush()
        if vanish:
            os._exit(0)
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up (curl after a cut) is what these tests do on purpose


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--log")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler.root = os.path.abspath(args.root)
    Handler.log_path = args.log
    server = Server(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
