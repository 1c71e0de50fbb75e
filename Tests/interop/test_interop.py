"""Interop test: the three Laurel services, driven by a stock Python grpcio client.

Stubs are generated at test time from proto/ with grpc_tools.protoc, the built
executables ($LAUREL_BIN_DIR, else .build/debug) are started on 127.0.0.1 with
port 0 and their own data directories, and every test checks real effects
through the public API. The last test shuts the services down with SIGTERM and
requires each to exit with code 0.
"""

import importlib
import importlib.util
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import types
import uuid
from pathlib import Path

import grpc
import pytest

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto"
STARTUP_TIMEOUT = 60.0  # seconds to wait for the "listening on" line
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
RPC_TIMEOUT = 15.0  # deadline of every call

SERVICE_NAMES = {
    "members": "laurel.v1.MemberService",
    "catalog": "laurel.v1.CatalogService",
    "redemption": "laurel.v1.RedemptionService",
}


# --------------------------------------------------------------------------
# Stub generation
# --------------------------------------------------------------------------


def _grpc_tools_include() -> str:
    """The directory of the well-known protos (google/protobuf/*.proto) that grpc_tools ships."""
    try:
        from importlib.resources import files

        return str(files("grpc_tools") / "_proto")
    except Exception:  # pragma: no cover - very old Pythons
        import pkg_resources

        return pkg_resources.resource_filename("grpc_tools", "_proto")


def _load_module_from_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """Generated message and stub modules, as a namespace."""
    out = tmp_path_factory.mktemp("laurel_stubs")
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    assert "laurel/v1/members.proto" in protos and "grpc/health/v1/health.proto" in protos, protos
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        str(PROTO_DIR),
        "-I",
        _grpc_tools_include(),
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f"protoc failed ({result.returncode}):\n{result.stderr}"

    # laurel/v1/*_pb2.py import each other as laurel.v1.X: make them packages.
    for d in (out / "laurel", out / "laurel" / "v1"):
        (d / "__init__.py").touch()
    sys.path.insert(0, str(out))
    importlib.invalidate_caches()

    ns = types.SimpleNamespace()
    for name in ("common", "members", "catalog", "redemption"):
        setattr(ns, name, importlib.import_module(f"laurel.v1.{name}_pb2"))
        setattr(ns, f"{name}_grpc", importlib.import_module(f"laurel.v1.{name}_pb2_grpc"))

    # grpc/health/v1/health_pb2.py cannot be imported as grpc.health.v1: the
    # name `grpc` is grpcio itself. Load the messages under another module
    # name (the proto package, and so the wire names, stay grpc.health.v1) and
    # call the methods by their full names.
    health_file = out / "grpc" / "health" / "v1" / "health_pb2.py"
    assert health_file.exists(), f"protoc did not write {health_file}"
    assert (out / "grpc" / "health" / "v1" / "health_pb2_grpc.py").exists()
    ns.health = _load_module_from_file("laurel_interop_health_pb2", health_file)
    return ns


class HealthStub:
    """A client of grpc.health.v1.Health (Check) built from the generated messages."""

    def __init__(self, channel, health_pb2):
        self.Check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )


# --------------------------------------------------------------------------
# The services
# --------------------------------------------------------------------------


class Service:
    def __init__(self, name: str, binary: Path, args, workdir: Path):
        self.name = name  # e.g. "laurel-members"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self.stdout_lines = []
        self._lines = queue.Queue()
        self.port = None
        self.exit_code = None
        self.killed = False
        self.exited_before_stop = False
        self._stderr = open(self.stderr_path, "wb")
        self.cmd = [str(binary), *args]
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=workdir,
        )
        # Drain stdout for the whole life of the process, so it never blocks
        # on a full pipe.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)  # EOF

    def wait_listening(self, timeout: float = STARTUP_TIMEOUT) -> int:
        pattern = re.compile(rf"^{re.escape(self.name)} listening on 127\.0\.0\.1:(\d+)$")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name} printed no '{self.name} listening on 127.0.0.1:PORT' line "
                    f"within {timeout:.0f} s (stdout so far: {self.stdout_lines!r})\n"
                    f"{self.describe()}"
                )
            try:
                line = self._lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise AssertionError(
                    f"{self.name} closed stdout (exit code {self.proc.returncode}) before "
                    f"printing its listening line (stdout: {self.stdout_lines!r})\n{self.describe()}"
                )
            m = pattern.match(line)
            if m:
                self.port = int(m.group(1))
                assert 0 < self.port < 65536, line
                return self.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; records the exit code. Idempotent."""
        if self.exit_code is not None:
            return
        if self.proc.poll() is not None:
            self.exited_before_stop = True
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.exit_code = self.proc.returncode
        self._reader.join(timeout=5)
        self._stderr.close()

    def stderr_text(self, limit: int = 20000) -> str:
        try:
            data = self.stderr_path.read_bytes()
        except OSError as e:
            return f"<cannot read {self.stderr_path}: {e}>"
        text = data.decode("utf-8", "replace")
        if len(text) > limit:
            text = f"... ({len(text) - limit} characters cut)\n" + text[-limit:]
        return text

    def describe(self) -> str:
        return f"--- {self.name} stderr ({self.stderr_path}) ---\n{self.stderr_text()}"


class Cluster:
    def __init__(self):
        self.services = {}  # "members" -> Service
        self.channels = {}
        self.shutdown_checked = False

    def log_sections(self):
        for key, svc in self.services.items():
            sections = f"command: {' '.join(svc.cmd)}\nstdout: {svc.stdout_lines!r}\n"
            if svc.proc.poll() is not None:
                sections += f"exited with code {svc.proc.returncode}\n"
            yield (f"{svc.name} stderr", sections + svc.stderr_text())

    def close_channels(self):
        for ch in self.channels.values():
            ch.close()
        self.channels.clear()

    def stop(self):
        """Stops redemption first, then its upstreams. Returns a list of problems."""
        self.close_channels()
        problems = []
        for key in ("redemption", "catalog", "members"):
            svc = self.services.get(key)
            if svc is None:
                continue
            svc.stop()
            if svc.exited_before_stop:
                problems.append(
                    f"{svc.name} had already exited (code {svc.exit_code}) before SIGTERM"
                )
            elif svc.killed:
                problems.append(
                    f"{svc.name} did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM and was killed"
                )
            elif svc.exit_code != 0:
                problems.append(f"{svc.name} exited with code {svc.exit_code} after SIGTERM")
        return problems


def _bin_dir() -> Path:
    env = os.environ.get("LAUREL_BIN_DIR")
    return Path(env) if env else REPO / ".build" / "debug"


@pytest.fixture(scope="session")
def cluster(request, tmp_path_factory):
    bin_dir = _bin_dir()
    for exe in ("laurel-members", "laurel-catalog", "laurel-redemption"):
        path = bin_dir / exe
        assert path.is_file() and os.access(path, os.X_OK), (
            f"{path} is missing or not executable: build with `swift build` "
            f"or set LAUREL_BIN_DIR"
        )

    work = tmp_path_factory.mktemp("laurel_services")
    c = Cluster()
    request.config._laurel_cluster = c
    started = False
    try:

        def start(key, extra=()):
            name = f"laurel-{key}"
            data = work / f"{key}-data"
            data.mkdir()
            svc = Service(
                name,
                bin_dir / name,
                ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(data), *extra],
                work,
            )
            c.services[key] = svc
            return svc

        members = start("members")
        catalog = start("catalog")
        members.wait_listening()
        catalog.wait_listening()
        redemption = start(
            "redemption",
            [
                "--members-address",
                members.address,
                "--catalog-address",
                catalog.address,
            ],
        )
        redemption.wait_listening()

        for key, svc in c.services.items():
            ch = grpc.insecure_channel(svc.address)
            grpc.channel_ready_future(ch).result(timeout=STARTUP_TIMEOUT)
            c.channels[key] = ch

        started = True
        yield c
    finally:
        problems = c.stop()
        # A failed start has already raised; report shutdown only after a good one.
        if started and problems and not c.shutdown_checked:
            c.shutdown_checked = True
            details = "\n".join(s.describe() for s in c.services.values())
            pytest.fail(
                "graceful shutdown failed:\n  " + "\n  ".join(problems) + "\n" + details,
                pytrace=False,
            )


@pytest.fixture(scope="session")
def members(cluster, pb):
    return pb.members_grpc.MemberServiceStub(cluster.channels["members"])


@pytest.fixture(scope="session")
def catalog(cluster, pb):
    return pb.catalog_grpc.CatalogServiceStub(cluster.channels["catalog"])


@pytest.fixture(scope="session")
def redemption(cluster, pb):
    return pb.redemption_grpc.RedemptionServiceStub(cluster.channels["redemption"])


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def rpc_error(callable_, request) -> grpc.RpcError:
    """Calls and returns the RpcError it must raise."""
    try:
        response = callable_(request, timeout=RPC_TIMEOUT)
    except grpc.RpcError as e:
        return e
    raise AssertionError(f"expected the call to fail, got a response: {response!r}")


def decode_status(error: grpc.RpcError):
    """The google.rpc.Status of a failed call, from grpc-status-details-bin."""
    from google.rpc import status_pb2

    try:
        from grpc_status import rpc_status
    except ImportError:
        rpc_status = None
    if rpc_status is not None:
        status = rpc_status.from_call(error)  # also checks code and message agree
    else:
        status = None
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                assert status.code == error.code().value[0], (status.code, error.code())
    assert status is not None, (
        f"no grpc-status-details-bin trailer; trailing metadata: {error.trailing_metadata()!r}"
    )
    return status


def error_info(error: grpc.RpcError):
    """The single google.rpc.ErrorInfo in a failed call's status details."""
    from google.rpc import error_details_pb2

    status = decode_status(error)
    infos = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
    assert len(infos) == 1, f"expected one ErrorInfo in {status!r}"
    return infos[0]


def enroll(pb, members):
    external_id = uid("interop-member")
    resp = members.EnrollMember(
        pb.members.EnrollMemberRequest(
            external_id=external_id, email="ada@example.com", display_name="Ada"
        ),
        timeout=RPC_TIMEOUT,
    )
    return resp.member


def earn(pb, members, member_id, minor_units, order_id=None):
    return members.RecordPurchase(
        pb.members.RecordPurchaseRequest(
            member_id=member_id,
            order_id=order_id or uid("order"),
            amount=pb.common.Money(currency_code="USD", minor_units=minor_units),
        ),
        timeout=RPC_TIMEOUT,
    )


def balance(pb, members, member_id):
    return members.GetBalance(
        pb.members.GetBalanceRequest(member_id=member_id), timeout=RPC_TIMEOUT
    ).balance


def create_reward(pb, catalog, cost_points=100, stock=5):
    return catalog.CreateReward(
        pb.catalog.CreateRewardRequest(
            sku=uid("interop-sku"),
            name="Free coffee",
            description="One regular coffee",
            kind=pb.catalog.REWARD_KIND_FREE_PRODUCT,
            product_sku="COFFEE",
            cost_points=cost_points,
            stock=stock,
        ),
        timeout=RPC_TIMEOUT,
    ).reward


def get_reward(pb, catalog, reward_id):
    return catalog.GetReward(
        pb.catalog.GetRewardRequest(reward_id=reward_id), timeout=RPC_TIMEOUT
    ).reward


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_stubs_generated(pb):
    assert pb.members.DESCRIPTOR.package == "laurel.v1"
    assert pb.health.DESCRIPTOR.package == "grpc.health.v1"
    assert pb.members.DESCRIPTOR.services_by_name["MemberService"].full_name == SERVICE_NAMES["members"]
    assert pb.catalog.DESCRIPTOR.services_by_name["CatalogService"].full_name == SERVICE_NAMES["catalog"]
    assert (
        pb.redemption.DESCRIPTOR.services_by_name["RedemptionService"].full_name
        == SERVICE_NAMES["redemption"]
    )


@pytest.mark.parametrize("key", ["members", "catalog", "redemption"])
@pytest.mark.parametrize("which", ["server", "service"])
def test_health_check(cluster, pb, key, which):
    service = "" if which == "server" else SERVICE_NAMES[key]
    stub = HealthStub(cluster.channels[key], pb.health)
    resp = stub.Check(pb.health.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT)
    assert resp.status == pb.health.HealthCheckResponse.SERVING, (
        f"laurel-{key} Health/Check(service={service!r}) -> {resp!r}"
    )


def test_members_enroll_purchase_ledger(pb, members):
    m = pb.members
    external_id = uid("interop-member")
    member = members.EnrollMember(
        m.EnrollMemberRequest(external_id=external_id, email="ada@example.com", display_name="Ada"),
        timeout=RPC_TIMEOUT,
    ).member
    assert member.member_id
    assert member.external_id == external_id
    assert member.status == m.MEMBER_STATUS_ACTIVE
    assert member.tier == "BASE"

    got = members.GetMember(m.GetMemberRequest(external_id=external_id), timeout=RPC_TIMEOUT).member
    assert got.member_id == member.member_id
    assert got.external_id == external_id
    assert got.email == "ada@example.com"
    assert got.display_name == "Ada"

    order_id = uid("order")
    purchase = m.RecordPurchaseRequest(
        member_id=member.member_id,
        order_id=order_id,
        amount=pb.common.Money(currency_code="USD", minor_units=12345),
    )
    first = members.RecordPurchase(purchase, timeout=RPC_TIMEOUT)
    assert first.points_earned == 123  # 1 point per whole USD, rounded down
    assert first.balance.available == 123
    assert first.entry.kind == m.LEDGER_ENTRY_KIND_EARN
    assert first.entry.available_delta == 123

    # Idempotent on order_id: same result, nothing earned twice.
    again = members.RecordPurchase(purchase, timeout=RPC_TIMEOUT)
    assert again.points_earned == 123
    assert again.balance.available == 123

    bal = balance(pb, members, member.member_id)
    assert bal.available == 123
    assert bal.held == 0
    assert bal.lifetime_earned == 123

    ledger = members.ListLedger(m.ListLedgerRequest(member_id=member.member_id), timeout=RPC_TIMEOUT)
    assert len(ledger.entries) == 1, ledger
    entry = ledger.entries[0]
    assert entry.kind == m.LEDGER_ENTRY_KIND_EARN
    assert entry.member_id == member.member_id
    assert entry.available_delta == 123
    assert entry.available_after == 123
    assert entry.reference == order_id


def test_enroll_without_external_id_has_error_details(pb, members):
    err = rpc_error(members.EnrollMember, pb.members.EnrollMemberRequest(external_id=""))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    info = error_info(err)
    assert info.domain == "laurel.v1"
    assert info.reason == "INVALID_ARGUMENT"
    assert info.metadata.get("field") == "external_id", dict(info.metadata)


def test_catalog_create_and_get_reward(pb, catalog):
    c = pb.catalog
    sku = uid("interop-sku")
    created = catalog.CreateReward(
        c.CreateRewardRequest(
            sku=sku,
            name="Free coffee",
            kind=c.REWARD_KIND_FREE_PRODUCT,
            product_sku="COFFEE",
            cost_points=100,
            stock=5,
        ),
        timeout=RPC_TIMEOUT,
    ).reward
    assert created.reward_id
    assert created.sku == sku
    assert created.stock_available == 5

    got = get_reward(pb, catalog, created.reward_id)
    assert got.reward_id == created.reward_id
    assert got.sku == sku
    assert got.name == "Free coffee"
    assert got.kind == c.REWARD_KIND_FREE_PRODUCT
    assert got.product_sku == "COFFEE"
    assert got.cost_points == 100
    assert got.stock_available == 5
    assert got.stock_reserved == 0
    assert got.stock_committed == 0
    assert got.active  # defaults to true
    assert not got.archived

    by_sku = catalog.GetReward(c.GetRewardRequest(sku=sku), timeout=RPC_TIMEOUT).reward
    assert by_sku.reward_id == created.reward_id


def test_redeem_then_cancel(pb, members, catalog, redemption):
    r = pb.redemption
    member = enroll(pb, members)
    earned = earn(pb, members, member.member_id, 25000)
    assert earned.points_earned == 250
    reward = create_reward(pb, catalog, cost_points=100, stock=5)

    redeemed = redemption.Redeem(
        r.RedeemRequest(
            member_id=member.member_id,
            reward_id=reward.reward_id,
            quantity=1,
            idempotency_key=uid("redeem"),
        ),
        timeout=RPC_TIMEOUT,
    ).redemption
    assert redeemed.status == r.REDEMPTION_STATUS_COMPLETED, redeemed
    assert redeemed.redemption_id
    assert redeemed.member_id == member.member_id
    assert redeemed.reward_id == reward.reward_id
    assert redeemed.quantity == 1
    assert redeemed.points_spent == 100
    assert redeemed.voucher_code

    bal = balance(pb, members, member.member_id)
    assert bal.available == 150
    assert bal.held == 0
    stock = get_reward(pb, catalog, reward.reward_id)
    assert stock.stock_available == 4
    assert stock.stock_reserved == 0
    assert stock.stock_committed == 1

    fetched = redemption.GetRedemption(
        r.GetRedemptionRequest(redemption_id=redeemed.redemption_id), timeout=RPC_TIMEOUT
    ).redemption
    assert fetched.status == r.REDEMPTION_STATUS_COMPLETED
    assert fetched.voucher_code == redeemed.voucher_code

    cancelled = redemption.CancelRedemption(
        r.CancelRedemptionRequest(redemption_id=redeemed.redemption_id, reason="interop test"),
        timeout=RPC_TIMEOUT,
    ).redemption
    assert cancelled.redemption_id == redeemed.redemption_id
    assert cancelled.status == r.REDEMPTION_STATUS_CANCELLED, cancelled

    bal = balance(pb, members, member.member_id)
    assert bal.available == 250
    assert bal.held == 0
    stock = get_reward(pb, catalog, reward.reward_id)
    assert stock.stock_available == 5
    assert stock.stock_reserved == 0
    assert stock.stock_committed == 0


def test_redeem_is_idempotent(pb, members, catalog, redemption):
    r = pb.redemption
    member = enroll(pb, members)
    earn(pb, members, member.member_id, 25000)
    reward = create_reward(pb, catalog, cost_points=100, stock=5)
    request = r.RedeemRequest(
        member_id=member.member_id,
        reward_id=reward.reward_id,
        quantity=1,
        idempotency_key=uid("redeem"),
    )
    first = redemption.Redeem(request, timeout=RPC_TIMEOUT).redemption
    assert first.status == r.REDEMPTION_STATUS_COMPLETED, first
    second = redemption.Redeem(request, timeout=RPC_TIMEOUT).redemption
    assert second.redemption_id == first.redemption_id
    assert second.status == r.REDEMPTION_STATUS_COMPLETED
    assert second.voucher_code == first.voucher_code
    assert balance(pb, members, member.member_id).available == 150
    assert get_reward(pb, catalog, reward.reward_id).stock_available == 4


def test_redeem_with_too_few_points_fails(pb, members, catalog, redemption):
    member = enroll(pb, members)
    earned = earn(pb, members, member.member_id, 5000)
    assert earned.points_earned == 50
    reward = create_reward(pb, catalog, cost_points=100, stock=5)

    err = rpc_error(
        redemption.Redeem,
        pb.redemption.RedeemRequest(
            member_id=member.member_id,
            reward_id=reward.reward_id,
            quantity=1,
            idempotency_key=uid("redeem"),
        ),
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, (err.code(), err.details())
    info = error_info(err)
    assert info.domain == "laurel.v1"
    assert info.reason == "INSUFFICIENT_POINTS"

    stock = get_reward(pb, catalog, reward.reward_id)
    assert stock.stock_available == 5
    assert stock.stock_reserved == 0
    assert stock.stock_committed == 0
    bal = balance(pb, members, member.member_id)
    assert bal.available == 50
    assert bal.held == 0


# What a client with no .proto files sees: each service's API, learnt from
# its grpc.reflection.v1alpha service (the version grpcio-reflection speaks).
REFLECTION_PROBES = {
    # key: (method to call, a request field, which must name nothing)
    "members": ("GetMember", "external_id"),
    "catalog": ("GetReward", "sku"),
}


@pytest.mark.parametrize("key", sorted(REFLECTION_PROBES))
def test_reflection_describes_and_calls_without_protos(cluster, key):
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    channel = cluster.channels[key]
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert services == {
        SERVICE_NAMES[key],
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }, services

    pool = descriptor_pool.DescriptorPool(database)
    for name in services:
        assert pool.FindServiceByName(name).methods, name
    service = pool.FindServiceByName(SERVICE_NAMES[key])
    # The service's file came with its imports: timestamps resolve.
    assert "google/protobuf/timestamp.proto" in [d.name for d in service.file.dependencies]
    with pytest.raises(KeyError):
        pool.FindServiceByName("laurel.v1.NoSuchService")

    method_name, field = REFLECTION_PROBES[key]
    method = service.methods_by_name[method_name]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    err = rpc_error(call, request_class(**{field: uid("reflection-nobody")}))
    assert err.code() == grpc.StatusCode.NOT_FOUND, (err.code(), err.details())


def test_reflection_describes_member_service(cluster):
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(cluster.channels["members"]))
    service = pool.FindServiceByName("laurel.v1.MemberService")
    assert service.file.name == "laurel/v1/members.proto"
    assert {"EnrollMember", "GetMember", "RecordPurchase", "HoldPoints", "CaptureHold"} <= set(
        service.methods_by_name
    )
    get_member = service.methods_by_name["GetMember"]
    assert get_member.input_type.full_name == "laurel.v1.GetMemberRequest"
    assert get_member.output_type.full_name == "laurel.v1.GetMemberResponse"
    member = pool.FindMessageTypeByName("laurel.v1.Member")
    assert member.fields_by_name["enrolled_at"].message_type.full_name == "google.protobuf.Timestamp"
    assert pool.FindEnumTypeByName("laurel.v1.MemberStatus").values_by_name["MEMBER_STATUS_ACTIVE"].number == 1
    # Symbols of other files are found through the server too.
    assert pool.FindMessageTypeByName("laurel.v1.Money").file.name == "laurel/v1/common.proto"


def test_graceful_shutdown(cluster):
    """Must run last: SIGTERM each service and require exit code 0 within 10 s."""
    problems = cluster.stop()
    cluster.shutdown_checked = True
    details = "\n".join(s.describe() for s in cluster.services.values())
    assert not problems, "graceful shutdown failed:\n  " + "\n  ".join(problems) + "\n" + details
