#!/usr/bin/env python3
"""A minimal Python grpcio server for the benchmark's side-by-side comparison.

It answers laurel.v1.MemberService/GetBalance with the same SQLite lookup the
Swift members service makes (the same columns of the same members.sqlite,
opened read-only), and nothing else: no keys, no metrics, no scope checks.
Everything else is UNIMPLEMENTED.

  bench/peers/get_balance_server.py --db DATA/members.sqlite --port 0 [--workers 16]

Prints "peer listening on 127.0.0.1:<port>" once it serves and, when stopped
with SIGTERM, "peer answered <ok> ok <failed> failed", so that a load
generator that only sees HTTP statuses can be checked against gRPC statuses.
"""
import argparse
import itertools
import signal
import importlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc


def stubs(repo):
    out = tempfile.mkdtemp(prefix="laurel-peer-")
    from importlib.resources import files
    include = str(files("grpc_tools") / "_proto")
    protos = ["laurel/v1/common.proto", "laurel/v1/program.proto", "laurel/v1/members.proto"]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(repo, "proto"), "-I", include,
         f"--python_out={out}", f"--grpc_python_out={out}", *protos],
        check=True)
    for package in ("laurel", "laurel/v1"):
        open(os.path.join(out, package, "__init__.py"), "a").close()
    sys.path.insert(0, out)
    return importlib.import_module("laurel.v1.members_pb2"), importlib.import_module("laurel.v1.members_pb2_grpc")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    members_pb2, members_grpc = stubs(repo)

    local = threading.local()
    # itertools.count's next() is atomic under the GIL: no lock per call.
    answered, refused = itertools.count(), itertools.count()

    def connection():
        # One read-only connection per worker thread, as a pool would give.
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True, check_same_thread=False)
        return local.db

    class Members(members_grpc.MemberServiceServicer):
        def GetBalance(self, request, context):
            row = connection().execute(
                "SELECT available, held, lifetime_earned, debt, partner_id FROM member WHERE id = ?", (request.member_id,)).fetchone()
            if row is None:
                next(refused)
                context.abort(grpc.StatusCode.NOT_FOUND, f"member '{request.member_id}' not found")
            # As members does: what expires within 30 days, and when next.
            now_ms = int(time.time() * 1000)
            expiring, next_expiry = connection().execute(
                "SELECT COALESCE(SUM(CASE WHEN expires_at <= ? THEN remaining ELSE 0 END), 0), MIN(expires_at) "
                "FROM point_lot WHERE member_id = ? AND remaining > 0 AND expires_at IS NOT NULL",
                (now_ms + 30 * 86_400_000, request.member_id)).fetchone()
            response = members_pb2.GetBalanceResponse(
                balance=members_pb2.Balance(
                    member_id=request.member_id, available=row[0], held=row[1], lifetime_earned=row[2], debt=row[3]),
                points_expiring_in_30_days=expiring)
            if next_expiry is not None:
                response.next_expiry_at.FromMilliseconds(next_expiry)
            next(answered)
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers))
    members_grpc.add_MemberServiceServicer_to_server(Members(), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"peer listening on 127.0.0.1:{port}", flush=True)

    def stop(signum, frame):
        # count() starts at 0 and next() returns the value before the step.
        print(f"peer answered {next(answered)} ok {next(refused)} failed", flush=True)
        server.stop(0)

    signal.signal(signal.SIGTERM, stop)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
