"""Interop test: the three Laurel services, driven by a stock Python grpcio client.

Stubs are generated at test time from proto/ with grpc_tools.protoc, the built
executables ($LAUREL_BIN_DIR, else .build/debug) are started on 127.0.0.1 with
port 0 and their own data directories, and every test checks real effects
through the public API. The last test shuts the services down with SIGTERM and
requires each to exit with code 0.

The cluster is wired the way an operator would: laurel-members prints a
bootstrap operator key on its first start; with it the fixture creates
redemption's service key (AccessService.CreateApiKey), writes it to a file,
and starts catalog and redemption pointed at members. Every call except health
and reflection carries `authorization: Bearer <key>` metadata, added by a
client interceptor (`BearerKey`); tests call as the operator unless they ask
for a partner's clients.
"""

import collections
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
STREAM_TIMEOUT = 15.0  # deadline of every event stream: a bug fails, never hangs

# "lk_<16 hex key id>_<64 hex secret>"
API_KEY_PATTERN = r"lk_[0-9a-f]{16}_[0-9a-f]{64}"
BOOTSTRAP_LINE = re.compile(
    r"^laurel-members bootstrap operator key \(shown once, keep it safe\): "
    rf"({API_KEY_PATTERN})$"
)

SERVICE_NAMES = {
    "members": "laurel.v1.MemberService",
    "catalog": "laurel.v1.CatalogService",
    "redemption": "laurel.v1.RedemptionService",
}

# Other services a process hosts: members is also the authority on API keys.
EXTRA_SERVICES = {
    "members": ("laurel.v1.AccessService", "laurel.v1.ProgramService"),
    "redemption": ("laurel.v1.PrivacyService",),
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
    for name in ("common", "members", "catalog", "redemption", "access"):
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
# API keys
# --------------------------------------------------------------------------


def bearer(key: str):
    """Per-call metadata presenting `key`, for a call made without BearerKey."""
    return (("authorization", f"Bearer {key}"),)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerKey(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <key>` to every call on the channel it wraps."""

    def __init__(self, key: str):
        self.key = key

    def _with_key(self, details):
        metadata = [(k, v) for k, v in (details.metadata or ()) if k != "authorization"]
        metadata.extend(bearer(self.key))
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_key(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_key(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._with_key(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._with_key(details), request_iterator)


class Clients:
    """A stub of each Laurel service calling with one API key."""

    def __init__(self, pb, channels, key: str, partner_id: str = ""):
        self.key = key
        self.partner_id = partner_id
        keyed = {name: grpc.intercept_channel(ch, BearerKey(key)) for name, ch in channels.items()}
        self.members = pb.members_grpc.MemberServiceStub(keyed["members"])
        self.access = pb.access_grpc.AccessServiceStub(keyed["members"])
        if "catalog" in keyed:
            self.catalog = pb.catalog_grpc.CatalogServiceStub(keyed["catalog"])
        if "redemption" in keyed:
            self.redemption = pb.redemption_grpc.RedemptionServiceStub(keyed["redemption"])


def redact_keys(text: str) -> str:
    """Keeps the public key id of any API key in `text`, hides its secret."""
    return re.sub(r"(lk_[0-9a-f]{16})_[0-9a-f]{64}", r"\1_<secret>", text)


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
        # The key laurel-members prints before its listening line on its first start.
        self.bootstrap_operator_key = None
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
            bootstrap = BOOTSTRAP_LINE.match(line)
            if bootstrap:
                self.bootstrap_operator_key = bootstrap.group(1)
                continue
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
        return redact_keys(f"--- {self.name} stderr ({self.stderr_path}) ---\n{self.stderr_text()}")


class Cluster:
    def __init__(self, pb):
        self.pb = pb
        self.services = {}  # "members" -> Service
        self.channels = {}  # keyless: health, reflection, and the unauthenticated tests
        self.operator_key = None
        self.service_key = None
        self.shutdown_checked = False

    def clients(self, key=None, partner_id=""):
        """Stubs of every service calling with `key` (by default the operator key)."""
        return Clients(self.pb, self.channels, key or self.operator_key, partner_id)

    def create_key(self, role, partner_id="", rate_limit_per_second=0, name=None):
        """A new API key, created with the operator key; returns (ApiKey, secret)."""
        resp = self.clients().access.CreateApiKey(
            self.pb.access.CreateApiKeyRequest(
                name=name or uid("interop-key"),
                role=role,
                partner_id=partner_id,
                rate_limit_per_second=rate_limit_per_second,
                request_id=uid("key-request"),
            ),
            timeout=RPC_TIMEOUT,
        )
        assert re.fullmatch(API_KEY_PATTERN, resp.api_key), redact_keys(resp.api_key)
        return resp.key, resp.api_key

    def new_partner(self, rate_limit_per_second=0):
        """Clients of a new partner (its own partner_id) with its own key."""
        partner_id = uid("partner")
        _, secret = self.create_key(
            self.pb.access.API_KEY_ROLE_PARTNER, partner_id, rate_limit_per_second
        )
        return self.clients(secret, partner_id)

    def log_sections(self):
        for key, svc in self.services.items():
            sections = f"command: {' '.join(svc.cmd)}\nstdout: {svc.stdout_lines!r}\n"
            if svc.proc.poll() is not None:
                sections += f"exited with code {svc.proc.returncode}\n"
            yield (f"{svc.name} stderr", redact_keys(sections + svc.stderr_text()))

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
def cluster(request, tmp_path_factory, pb):
    bin_dir = _bin_dir()
    for exe in ("laurel-members", "laurel-catalog", "laurel-redemption"):
        path = bin_dir / exe
        assert path.is_file() and os.access(path, os.X_OK), (
            f"{path} is missing or not executable: build with `swift build` "
            f"or set LAUREL_BIN_DIR"
        )

    work = tmp_path_factory.mktemp("laurel_services")
    c = Cluster(pb)
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

        def connect(key):
            ch = grpc.insecure_channel(c.services[key].address)
            c.channels[key] = ch
            grpc.channel_ready_future(ch).result(timeout=STARTUP_TIMEOUT)

        # 1. Members first: on its first start it prints the operator key.
        members = start("members")
        members.wait_listening()
        assert members.bootstrap_operator_key, (
            "laurel-members printed no 'bootstrap operator key' line before listening "
            f"(stdout: {redact_keys(repr(members.stdout_lines))})"
        )
        c.operator_key = members.bootstrap_operator_key
        connect("members")

        # 2. Redemption's service key, created with the operator key, in a file.
        service_key, c.service_key = c.create_key(
            pb.access.API_KEY_ROLE_SERVICE, name="redemption"
        )
        assert service_key.role == pb.access.API_KEY_ROLE_SERVICE, service_key
        key_file = work / "service.key"
        key_file.write_text(c.service_key)
        key_file.chmod(0o600)

        # 3. Catalog checks keys by asking members; 4. redemption calls both with its key.
        catalog = start("catalog", ["--members-address", members.address])
        catalog.wait_listening()
        connect("catalog")
        redemption = start(
            "redemption",
            [
                "--members-address",
                members.address,
                "--catalog-address",
                catalog.address,
                "--service-key-file",
                str(key_file),
            ],
        )
        redemption.wait_listening()
        connect("redemption")

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
def operator(cluster):
    """Stubs of every service calling with the bootstrap operator key."""
    return cluster.clients()


@pytest.fixture(scope="session")
def members(operator):
    return operator.members


@pytest.fixture(scope="session")
def catalog(operator):
    return operator.catalog


@pytest.fixture(scope="session")
def redemption(operator):
    return operator.redemption


@pytest.fixture(scope="session")
def access(operator):
    return operator.access


@pytest.fixture
def partner(cluster):
    """Clients of a partner of its own, new for each test."""
    return cluster.new_partner()


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def rpc_error(callable_, request, **kwargs) -> grpc.RpcError:
    """Calls and returns the RpcError it must raise."""
    try:
        response = callable_(request, timeout=RPC_TIMEOUT, **kwargs)
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
    assert first.entries[0].kind == m.LEDGER_ENTRY_KIND_EARN
    assert first.entries[0].available_delta == 123

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


def test_redeem_with_too_few_points_fails(pb, catalog, partner):
    """As a partner: the refusal is FAILED_PRECONDITION with reason INSUFFICIENT_POINTS."""
    member = enroll(pb, partner.members)
    assert member.partner_id == partner.partner_id
    earned = earn(pb, partner.members, member.member_id, 5000)
    assert earned.points_earned == 50
    reward = create_reward(pb, catalog, cost_points=100, stock=5)  # operators create rewards

    err = rpc_error(
        partner.redemption.Redeem,
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

    # Nothing was taken: partners may read rewards and their members' balances.
    stock = get_reward(pb, partner.catalog, reward.reward_id)
    assert stock.stock_available == 5
    assert stock.stock_reserved == 0
    assert stock.stock_committed == 0
    bal = balance(pb, partner.members, member.member_id)
    assert bal.available == 50
    assert bal.held == 0


# --------------------------------------------------------------------------
# API keys: authentication, roles, partner scope, rate limits
# --------------------------------------------------------------------------

# One keyed call per service, and how to make it on a stub of that service.
PROBES = {
    "members": ("MemberServiceStub", "members", "GetBalance", "GetBalanceRequest", {"member_id": "mbr_x"}),
    "catalog": ("CatalogServiceStub", "catalog", "ListRewards", "ListRewardsRequest", {}),
    "redemption": (
        "RedemptionServiceStub",
        "redemption",
        "GetRedemption",
        "GetRedemptionRequest",
        {"redemption_id": "rdm_x"},
    ),
}

# A key of the right shape that was never issued.
FORGED_KEY = "lk_0123456789abcdef_" + "ab" * 32


def probe(cluster, pb, key):
    """The keyless stub method and request of PROBES[key]."""
    stub_name, module, method, request_name, fields = PROBES[key]
    stub = getattr(getattr(pb, f"{module}_grpc"), stub_name)(cluster.channels[key])
    return getattr(stub, method), getattr(getattr(pb, module), request_name)(**fields)


def retry_delay_seconds(error: grpc.RpcError) -> float:
    """The retry_delay of the single google.rpc.RetryInfo in a failed call's details."""
    from google.rpc import error_details_pb2

    status = decode_status(error)
    infos = []
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            infos.append(info)
    assert len(infos) == 1, f"expected one RetryInfo in {status!r}"
    return infos[0].retry_delay.seconds + infos[0].retry_delay.nanos / 1e9


@pytest.mark.parametrize("key", ["members", "catalog", "redemption"])
@pytest.mark.parametrize(
    "presented, reason",
    [
        (None, "API_KEY_MISSING"),
        ("Bearer hunter2", "API_KEY_MALFORMED"),
        (f"Basic {FORGED_KEY}", "API_KEY_MALFORMED"),
        (f"Bearer {FORGED_KEY}", "API_KEY_INVALID"),
    ],
    ids=["no-key", "malformed", "not-bearer", "never-issued"],
)
def test_calls_without_a_valid_key_are_unauthenticated(cluster, pb, key, presented, reason):
    method, request = probe(cluster, pb, key)
    metadata = () if presented is None else (("authorization", presented),)
    err = rpc_error(method, request, metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, (err.code(), err.details())
    info = error_info(err)
    assert info.domain == "laurel.v1"
    assert info.reason == reason, (info, err.details())
    # No key was leaked back.
    assert FORGED_KEY[20:] not in err.details()


def test_each_key_says_who_it_is(cluster, pb):
    a = pb.access
    me = cluster.clients().access.WhoAmI(a.WhoAmIRequest(), timeout=RPC_TIMEOUT).key
    assert me.role == a.API_KEY_ROLE_OPERATOR
    assert cluster.operator_key.startswith(f"lk_{me.key_id}_")

    svc = cluster.clients(cluster.service_key).access.WhoAmI(a.WhoAmIRequest(), timeout=RPC_TIMEOUT).key
    assert svc.role == a.API_KEY_ROLE_SERVICE
    assert svc.name == "redemption"

    partner = cluster.new_partner()
    who = partner.access.WhoAmI(a.WhoAmIRequest(), timeout=RPC_TIMEOUT).key
    assert who.role == a.API_KEY_ROLE_PARTNER
    assert who.partner_id == partner.partner_id
    assert partner.key.startswith(f"lk_{who.key_id}_")
    assert not who.HasField("revoked_at")


def test_a_revoked_key_is_refused(cluster, pb, access):
    partner = cluster.new_partner()
    partner.members.ListMembers(pb.members.ListMembersRequest(), timeout=RPC_TIMEOUT)
    key_id = partner.key.split("_")[1]
    revoked = access.RevokeApiKey(pb.access.RevokeApiKeyRequest(key_id=key_id), timeout=RPC_TIMEOUT).key
    assert revoked.key_id == key_id
    assert revoked.HasField("revoked_at")
    # Members is the authority: it refuses at once (the others may cache for a while).
    err = rpc_error(partner.members.ListMembers, pb.members.ListMembersRequest())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, (err.code(), err.details())
    assert error_info(err).reason == "API_KEY_INVALID"


def test_a_partner_key_may_not_create_a_reward(pb, partner):
    c = pb.catalog
    err = rpc_error(
        partner.catalog.CreateReward,
        c.CreateRewardRequest(
            sku=uid("interop-sku"),
            name="Free coffee",
            kind=c.REWARD_KIND_FREE_PRODUCT,
            product_sku="COFFEE",
            cost_points=100,
            stock=5,
        ),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (err.code(), err.details())
    info = error_info(err)
    assert info.domain == "laurel.v1"
    assert info.reason == "ROLE_NOT_ALLOWED"
    assert info.metadata.get("method") == "laurel.v1.CatalogService/CreateReward", dict(info.metadata)

    # Nor create keys, nor touch points by hand.
    err = rpc_error(
        partner.access.CreateApiKey,
        pb.access.CreateApiKeyRequest(
            name="mine", role=pb.access.API_KEY_ROLE_OPERATOR, request_id=uid("k")
        ),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(err).reason == "ROLE_NOT_ALLOWED"
    member = enroll(pb, partner.members)
    err = rpc_error(
        partner.members.AdjustPoints,
        pb.members.AdjustPointsRequest(
            member_id=member.member_id, delta=100, reason="gift", request_id=uid("adj")
        ),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(err).reason == "ROLE_NOT_ALLOWED"


def test_a_partner_sees_only_the_members_it_enrolled(cluster, pb, members, catalog):
    m = pb.members
    acme = cluster.new_partner()
    globex = cluster.new_partner()
    member = enroll(pb, acme.members)
    assert member.partner_id == acme.partner_id
    earn(pb, acme.members, member.member_id, 5000)
    got = acme.members.GetMember(m.GetMemberRequest(member_id=member.member_id), timeout=RPC_TIMEOUT)
    assert got.member.member_id == member.member_id

    for request in (
        m.GetMemberRequest(member_id=member.member_id),
        m.GetMemberRequest(external_id=member.external_id),
    ):
        err = rpc_error(globex.members.GetMember, request)
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (err.code(), err.details())
        info = error_info(err)
        assert info.domain == "laurel.v1"
        assert info.reason == "MEMBER_NOT_IN_SCOPE"
    err = rpc_error(globex.members.GetBalance, m.GetBalanceRequest(member_id=member.member_id))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(err).reason == "MEMBER_NOT_IN_SCOPE"

    # A redemption is in scope of the partner that asked for it only.
    reward = create_reward(pb, catalog, cost_points=10, stock=5)
    redeemed = acme.redemption.Redeem(
        pb.redemption.RedeemRequest(
            member_id=member.member_id,
            reward_id=reward.reward_id,
            quantity=1,
            idempotency_key=uid("redeem"),
        ),
        timeout=RPC_TIMEOUT,
    ).redemption
    assert redeemed.status == pb.redemption.REDEMPTION_STATUS_COMPLETED, redeemed
    assert redeemed.partner_id == acme.partner_id
    err = rpc_error(
        globex.redemption.GetRedemption,
        pb.redemption.GetRedemptionRequest(redemption_id=redeemed.redemption_id),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(err).reason == "REDEMPTION_NOT_IN_SCOPE"

    # Globex lists none of acme's members; the operator sees them.
    assert not globex.members.ListMembers(m.ListMembersRequest(), timeout=RPC_TIMEOUT).members
    listed = acme.members.ListMembers(m.ListMembersRequest(), timeout=RPC_TIMEOUT).members
    assert [x.member_id for x in listed] == [member.member_id]
    assert balance(pb, members, member.member_id).available == 40


def test_a_key_over_its_rate_is_told_when_to_retry(cluster, pb, members):
    # 1 call a second, bursts of 2 (twice the rate).
    slow = cluster.new_partner(rate_limit_per_second=1)
    request = pb.members.ListMembersRequest()
    admitted = 0
    err = None
    for _ in range(10):
        try:
            slow.members.ListMembers(request, timeout=RPC_TIMEOUT)
            admitted += 1
        except grpc.RpcError as e:
            err = e
            break
    assert err is not None, f"{admitted} calls in a row admitted at 1 call a second"
    assert admitted >= 2, f"refused after {admitted} calls: the burst is 2"
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (err.code(), err.details())
    info = error_info(err)
    assert info.domain == "laurel.v1"
    assert info.reason == "RATE_LIMITED"
    delay = retry_delay_seconds(err)
    assert 0 < delay <= 1.0, delay

    # Other keys have their own buckets; this one is let in again once it waited.
    members.ListMembers(request, timeout=RPC_TIMEOUT)
    time.sleep(delay + 0.05)
    slow.members.ListMembers(request, timeout=RPC_TIMEOUT)


# --------------------------------------------------------------------------
# Member events, followed across a reconnect
# --------------------------------------------------------------------------


def watch(pb, clients, after_cursor="", member_id="", timeout=STREAM_TIMEOUT):
    """An open WatchMemberEvents call; its deadline ends it if events stop coming."""
    return clients.members.WatchMemberEvents(
        pb.members.WatchMemberEventsRequest(after_cursor=after_cursor, member_id=member_id),
        timeout=timeout,
    )


def take(call, count):
    """The next `count` events of a stream; fails (with what came) if fewer arrive."""
    events = []
    try:
        while len(events) < count:
            events.append(next(call))
    except StopIteration:
        raise AssertionError(f"the stream ended after {len(events)} of {count} events: {events}")
    except grpc.RpcError as e:
        raise AssertionError(
            f"the stream failed with {e.code()} ({e.details()}) after {len(events)} of "
            f"{count} events: {events}"
        ) from e
    return events


def describe_events(events):
    return [(e.cursor, e.member_id, e.kind, e.points, e.reference) for e in events]


def test_a_partner_follows_its_events_across_a_reconnect(cluster, pb, catalog):
    m = pb.members
    acme = cluster.new_partner()
    globex = cluster.new_partner()
    reward = create_reward(pb, catalog, cost_points=20, stock=5)

    # Another partner's member: never in acme's stream.
    other = enroll(pb, globex.members)
    earn(pb, globex.members, other.member_id, 9900)

    member = enroll(pb, acme.members)
    first_order = uid("order")
    earn(pb, acme.members, member.member_id, 5000, order_id=first_order)

    # First connection: enrolment and the purchase, then the client goes away.
    stream = watch(pb, acme)
    first = take(stream, 2)
    stream.cancel()
    assert stream.code() == grpc.StatusCode.CANCELLED, stream.code()
    assert [e.kind for e in first] == [
        m.MEMBER_EVENT_KIND_ENROLLED,
        m.MEMBER_EVENT_KIND_POINTS_EARNED,
    ], describe_events(first)
    assert all(e.member_id == member.member_id for e in first), describe_events(first)
    assert first[1].points == 50
    assert first[1].reference == first_order

    # Meanwhile: a purchase, a redemption and a partial refund of the first purchase.
    second_order = uid("order")
    earn(pb, acme.members, member.member_id, 3000, order_id=second_order)
    redeemed = acme.redemption.Redeem(
        pb.redemption.RedeemRequest(
            member_id=member.member_id,
            reward_id=reward.reward_id,
            quantity=1,
            idempotency_key=uid("redeem"),
        ),
        timeout=RPC_TIMEOUT,
    ).redemption
    assert redeemed.status == pb.redemption.REDEMPTION_STATUS_COMPLETED, redeemed
    refund_id = uid("refund")
    reversed_ = acme.members.ReversePurchase(
        m.ReversePurchaseRequest(
            order_id=first_order,
            refund_id=refund_id,
            amount=pb.common.Money(currency_code="USD", minor_units=1000),
            reason="one item back",
        ),
        timeout=RPC_TIMEOUT,
    )
    assert reversed_.points_reversed == 10

    # Reconnecting after the last cursor received: exactly what happened since, in order.
    stream = watch(pb, acme, after_cursor=first[-1].cursor)
    try:
        resumed = take(stream, 4)
        assert [e.kind for e in resumed] == [
            m.MEMBER_EVENT_KIND_POINTS_EARNED,
            m.MEMBER_EVENT_KIND_POINTS_SPENT,
            m.MEMBER_EVENT_KIND_REDEMPTION_COMPLETED,
            m.MEMBER_EVENT_KIND_POINTS_REVERSED,
        ], describe_events(resumed)
        assert [e.points for e in resumed] == [30, -20, -20, -10], describe_events(resumed)
        assert resumed[0].reference == second_order
        assert resumed[2].redemption_id == redeemed.redemption_id
        assert resumed[3].reference == refund_id

        # Then live: a purchase made while the stream is open.
        live_order = uid("order")
        earn(pb, acme.members, member.member_id, 1200, order_id=live_order)
        live = take(stream, 1)
    finally:
        stream.cancel()
    assert live[0].kind == m.MEMBER_EVENT_KIND_POINTS_EARNED, describe_events(live)
    assert live[0].points == 12
    assert live[0].reference == live_order

    seen = first + resumed + live
    assert all(e.member_id == member.member_id for e in seen), describe_events(seen)
    cursors = [e.cursor for e in seen]
    assert all(cursors), describe_events(seen)
    assert len(set(cursors)) == len(cursors), f"an event came twice: {describe_events(seen)}"

    # Nothing was missed: reading from the start gives the same events, same cursors.
    stream = watch(pb, acme)
    try:
        replay = take(stream, len(seen))
    finally:
        stream.cancel()
    assert [e.cursor for e in replay] == cursors, (describe_events(replay), describe_events(seen))
    assert [e.kind for e in replay] == [e.kind for e in seen]

    # And nothing more: after the last cursor the stream stays quiet until its deadline.
    quiet = watch(pb, acme, after_cursor=cursors[-1], timeout=1.5)
    extra = []
    with pytest.raises(grpc.RpcError) as ended:
        for event in quiet:
            extra.append(event)
    assert not extra, describe_events(extra)
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, ended.value.code()

    # Balance agrees: 50 + 30 - 20 - 10 + 12.
    assert balance(pb, acme.members, member.member_id).available == 62

    # Acme may not follow globex's member.
    stream = watch(pb, acme, member_id=other.member_id)
    with pytest.raises(grpc.RpcError) as refused:
        next(stream)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value.code()
    assert error_info(refused.value).reason == "MEMBER_NOT_IN_SCOPE"


def test_a_malformed_cursor_is_refused(pb, partner):
    stream = watch(pb, partner, after_cursor="yesterday")
    with pytest.raises(grpc.RpcError) as refused:
        next(stream)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.code()
    info = error_info(refused.value)
    assert info.reason == "INVALID_ARGUMENT"
    assert info.metadata.get("field") == "after_cursor", dict(info.metadata)


# --------------------------------------------------------------------------
# Refunds: ReversePurchase
# --------------------------------------------------------------------------


def basket(pb, members, member_id, order_id):
    """2 x TEE at 25.00 and 1 x MUG at 50.00: 100.00 USD, 100 points."""
    m = pb.members
    return members.RecordPurchase(
        m.RecordPurchaseRequest(
            member_id=member_id,
            order_id=order_id,
            amount=pb.common.Money(currency_code="USD", minor_units=10000),
            lines=[
                m.PurchaseLine(sku="TEE", category="apparel", quantity=2, unit_price_minor=2500),
                m.PurchaseLine(sku="MUG", category="home", quantity=1, unit_price_minor=5000),
            ],
        ),
        timeout=RPC_TIMEOUT,
    )


def test_partial_refunds_reverse_points_and_spent_points_become_debt(cluster, pb, catalog):
    m = pb.members
    acme = cluster.new_partner()
    member = enroll(pb, acme.members)
    order_id = uid("order")
    assert basket(pb, acme.members, member.member_id, order_id).points_earned == 100

    # One tee back: its share of the points, 25.
    first_request = m.ReversePurchaseRequest(
        order_id=order_id,
        refund_id=uid("refund"),
        lines=[m.RefundedLine(sku="TEE", quantity=1)],
        reason="wrong size",
    )
    first = acme.members.ReversePurchase(first_request, timeout=RPC_TIMEOUT)
    assert first.points_reversed == 25
    assert first.balance.available == 75
    assert first.balance.debt == 0
    assert first.refunded_total == pb.common.Money(currency_code="USD", minor_units=2500)
    assert first.entries[0].kind == m.LEDGER_ENTRY_KIND_REVERSE
    assert first.entries[0].available_delta == -25
    # The same refund again changes nothing.
    again = acme.members.ReversePurchase(first_request, timeout=RPC_TIMEOUT)
    assert again.points_reversed == 25
    assert again.balance.available == 75
    # Another partner may not refund acme's order.
    globex = cluster.new_partner()
    err = rpc_error(
        globex.members.ReversePurchase,
        m.ReversePurchaseRequest(
            order_id=order_id, refund_id=uid("refund"), lines=[m.RefundedLine(sku="MUG", quantity=1)]
        ),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (err.code(), err.details())
    assert error_info(err).reason == "MEMBER_NOT_IN_SCOPE"

    # 60 of the 75 points are spent on a reward...
    reward = create_reward(pb, catalog, cost_points=60, stock=5)
    redeemed = acme.redemption.Redeem(
        pb.redemption.RedeemRequest(
            member_id=member.member_id,
            reward_id=reward.reward_id,
            quantity=1,
            idempotency_key=uid("redeem"),
        ),
        timeout=RPC_TIMEOUT,
    ).redemption
    assert redeemed.status == pb.redemption.REDEMPTION_STATUS_COMPLETED, redeemed
    assert balance(pb, acme.members, member.member_id).available == 15

    # ...then the rest is refunded: 75 points reversed, 15 from available, 60 owed.
    rest = acme.members.ReversePurchase(
        m.ReversePurchaseRequest(
            order_id=order_id,
            refund_id=uid("refund"),
            lines=[m.RefundedLine(sku="TEE", quantity=1), m.RefundedLine(sku="MUG", quantity=1)],
        ),
        timeout=RPC_TIMEOUT,
    )
    assert rest.points_reversed == 75
    assert rest.balance.available == 0
    assert rest.balance.debt == 60
    assert rest.entries[0].available_delta == -15
    assert rest.entries[0].debt_delta == 60
    assert rest.entries[0].debt_after == 60
    assert rest.refunded_total == pb.common.Money(currency_code="USD", minor_units=10000)

    # Nothing is left to refund.
    err = rpc_error(
        acme.members.ReversePurchase,
        m.ReversePurchaseRequest(
            order_id=order_id, refund_id=uid("refund"), lines=[m.RefundedLine(sku="TEE", quantity=1)]
        ),
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, (err.code(), err.details())
    assert error_info(err).reason == "REFUND_EXCEEDS_PURCHASE"

    # The next earnings repay the debt first.
    paid = earn(pb, acme.members, member.member_id, 4000)
    assert paid.points_earned == 40
    assert paid.balance.available == 0
    assert paid.balance.debt == 20
    assert paid.entries[0].debt_delta == -40
    after = earn(pb, acme.members, member.member_id, 5000)
    assert after.balance.available == 30
    assert after.balance.debt == 0
    bal = balance(pb, acme.members, member.member_id)
    assert (bal.available, bal.held, bal.debt) == (30, 0, 0)


def test_partial_refund_amounts_round_down_and_the_last_takes_the_rest(pb, partner):
    member = enroll(pb, partner.members)
    order_id = uid("order")
    earn(pb, partner.members, member.member_id, 1000, order_id=order_id)
    reversed_ = []
    for amount in (333, 333, 334):
        resp = partner.members.ReversePurchase(
            pb.members.ReversePurchaseRequest(
                order_id=order_id,
                refund_id=uid("refund"),
                amount=pb.common.Money(currency_code="USD", minor_units=amount),
            ),
            timeout=RPC_TIMEOUT,
        )
        reversed_.append(resp.points_reversed)
    assert reversed_ == [3, 3, 4]
    assert resp.balance.available == 0
    assert resp.balance.debt == 0
    assert resp.refunded_total.minor_units == 1000


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
        *EXTRA_SERVICES.get(key, ()),
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
    request = request_class(**{field: uid("reflection-nobody")})
    # Reflection needs no key; the service's own methods do.
    err = rpc_error(call, request)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, (err.code(), err.details())
    assert error_info(err).reason == "API_KEY_MISSING"
    err = rpc_error(call, request, metadata=bearer(cluster.operator_key))
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


def test_graceful_shutdown(cluster, pb):
    """Must run last: SIGTERM each service and require exit code 0 within 10 s.

    An event stream open during the shutdown must end with OK (the client is
    to reconnect), neither holding the shutdown up nor failing.
    """
    partner = cluster.new_partner()
    member = enroll(pb, partner.members)
    # Its own channel: cluster.stop() closes the cluster's channels first.
    channel = grpc.insecure_channel(cluster.services["members"].address)
    try:
        follower = Clients(pb, {"members": channel}, partner.key, partner.partner_id)
        stream = watch(pb, follower, member_id=member.member_id, timeout=STOP_TIMEOUT * 3)
        opened = take(stream, 1)  # the enrolment: the stream is open and now idle
        assert opened[0].kind == pb.members.MEMBER_EVENT_KIND_ENROLLED, describe_events(opened)

        problems = cluster.stop()
        cluster.shutdown_checked = True
        details = "\n".join(s.describe() for s in cluster.services.values())
        assert not problems, "graceful shutdown failed:\n  " + "\n  ".join(problems) + "\n" + details

        try:
            extra = list(stream)
        except grpc.RpcError as e:
            raise AssertionError(
                f"the open event stream failed with {e.code()} ({e.details()}) on shutdown "
                "instead of ending with OK"
            ) from e
        assert not extra, describe_events(extra)
        assert stream.code() == grpc.StatusCode.OK, stream.code()
    finally:
        channel.close()
