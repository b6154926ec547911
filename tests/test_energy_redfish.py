"""Redfish against a real HTTP(S) server on 127.0.0.1: the exact failure texts, TLS verified and not, what the BMC
is sent, the link-following bounds and the chassis list in messages. Pinned by mutation testing
(benchmarks/checks/mutation.py on energy/redfish.py)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hashbench.energy.redfish import NoPowerReading, RedfishClient, RedfishSource, RedfishUnavailable, parse_power

POWER = "/redfish/v1/Chassis/1U/Power"
TREE = {
    "/redfish/v1": {"@odata.id": "/redfish/v1", "Chassis": {"@odata.id": "/redfish/v1/Chassis"}},
    "/redfish/v1/Chassis": {"@odata.id": "/redfish/v1/Chassis", "Members": [{"@odata.id": "/redfish/v1/Chassis/1U"}]},
    "/redfish/v1/Chassis/1U": {"@odata.id": "/redfish/v1/Chassis/1U", "Power": {"@odata.id": POWER}},
    POWER: {"@odata.id": POWER, "PowerControl": [{"MemberId": "0", "Name": "System Power Control",
                                                   "PowerConsumedWatts": 350}]},
}


class Server:
    """Serves `docs` (path -> JSON-able object, or bytes sent as they are); records each request's headers."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.docs: dict[str, object] = dict(TREE)
        self.headers: list = []  # http.server's header objects: names looked up in any case, as HTTP has them
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.headers.append(self.headers)
                doc = server.docs.get(self.path)
                if doc is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_port}"
        # A short poll so that shutdown() returns at once (the default half second adds up over many tests).
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, as most BMCs ship with, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


# --- parse_power ------------------------------------------------------------------------------------------------------


def test_the_power_control_entry_is_named_by_name_member_id_or_index():
    assert parse_power({"PowerControl": [{"MemberId": "A", "PowerConsumedWatts": 300}]}) == (300.0,
                                                                                              "PowerControl[0] (A)")
    assert parse_power({"PowerControl": [{"PowerConsumedWatts": 300}]}) == (300.0, "PowerControl[0] (0)")


def test_only_the_chassis_total_is_read_never_a_part_in_its_place():
    """PowerControl[0] is the chassis total; later entries are sub-systems (CPU, memory) whose power is a share of
    the node's: with the total null, the node has no reading, not the CPUs' one."""
    doc = {"PowerControl": [{"Name": "Server Power Control", "PowerConsumedWatts": None},
                            {"Name": "CPU Sub-system Power", "PowerConsumedWatts": 120}]}
    with pytest.raises(NoPowerReading, match=r"\(PowerControl\[0\] \(Server Power Control\) is null\)"):
        parse_power(doc)
    doc["PowerControl"][0]["PowerConsumedWatts"] = 480
    assert parse_power(doc) == (480.0, "PowerControl[0] (Server Power Control)")


@pytest.mark.parametrize("watts", [0, 0.0, -5])
@pytest.mark.parametrize("key", ["PowerControl", "PowerWatts"])
def test_a_reading_of_zero_watts_or_less_is_no_reading(key, watts):
    """A node running this program never draws 0 W: a BMC with no sensor (or reporting the node off) sends 0, which
    integrated would be a measured 0 J/TH."""
    doc = ({"PowerControl": [{"PowerConsumedWatts": watts}]} if key == "PowerControl"
           else {"PowerWatts": {"Reading": watts}})
    with pytest.raises(NoPowerReading) as info:
        parse_power(doc)
    assert str(info.value).endswith(f" reads {watts:g} W: the BMC measures no power (no power sensor, or the node "
                                    "reported off)")


def test_a_null_reading_and_a_resource_without_one_say_different_things():
    with pytest.raises(NoPowerReading) as info:
        parse_power({"PowerControl": [{"PowerConsumedWatts": None}]})
    assert str(info.value) == ("the power resource is there but holds no number (PowerControl[0] (0) is null): the "
                               "BMC measures no power now (node powered off, or no power sensor)")
    with pytest.raises(NoPowerReading, match=r"\(PowerWatts.Reading is \"n/a\"\)"):
        parse_power({"PowerWatts": {"Reading": "n/a"}})
    # An empty PowerControl array holds no entry that could be null: not a Power resource with a reading.
    for doc in ({"PowerControl": []}, {"PowerControl": ["n/a"]}, {"Id": "1U"}, ["PowerControl"]):
        with pytest.raises(ValueError) as info:
            parse_power(doc)
        assert type(info.value) is ValueError
        assert str(info.value) == "no PowerControl[0].PowerConsumedWatts or PowerWatts.Reading in the resource"


# --- URLs and what the BMC is sent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://bmc.example/redfish/v1", "https:///redfish/v1"])
def test_only_http_urls_with_a_host(url):
    with pytest.raises(RedfishUnavailable) as info:
        RedfishClient(url)
    assert str(info.value) == f"Redfish URL {url!r} is not an http(s) URL"


@pytest.mark.parametrize("url", ["https://admin@bmc.example/redfish/v1", "https://admin:pw@bmc.example/redfish/v1"])
def test_credentials_in_the_url_are_refused_user_alone_too(url):
    with pytest.raises(RedfishUnavailable) as info:
        RedfishClient(url)
    assert str(info.value) == ("the Redfish URL holds credentials: give the host alone (bmc.example) and the login in "
                               "HASHBENCH_REDFISH_USER and HASHBENCH_REDFISH_PASSWORD")


def test_the_bmc_is_sent_json_odata_4_and_basic_auth_with_an_empty_password(server):
    client = RedfishClient(server.base + "/redfish/v1", "monitor")
    assert client.get("/redfish/v1/Chassis/1U") == TREE["/redfish/v1/Chassis/1U"]  # a path, joined to the URL
    sent = server.headers[-1]
    assert sent["Accept"].lower() == "application/json" and sent["OData-Version"] == "4.0"
    assert sent["Authorization"] == "Basic " + base64.b64encode(b"monitor:").decode()
    RedfishClient(server.base + "/redfish/v1").get()
    assert "Authorization" not in server.headers[-1]


def test_an_answer_that_is_not_json(server):
    server.docs["/login"] = b"<html><body>Please log in</body></html>"
    with pytest.raises(RedfishUnavailable) as info:
        RedfishClient(server.base + "/login").get()
    assert str(info.value) == f"{server.base}/login: the answer is not JSON"


def test_a_bmc_that_accepts_and_never_answers_is_cut_off():
    with socket.socket() as listener:  # connections queue in the backlog: the request goes out, no answer comes
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/redfish/v1"
        with pytest.raises(RedfishUnavailable) as info:
            RedfishClient(url, timeout_s=0.1).get()
    assert str(info.value) == f"cannot reach {url}: timed out"


def test_a_port_that_speaks_another_protocol_is_one_line_not_a_traceback():
    """An SSH port given as the BMC's answers with a banner, not HTTP: http.client's BadStatusLine is neither an
    OSError nor a URLError."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/redfish/v1"

        def banner() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        thread = threading.Thread(target=banner, daemon=True)
        thread.start()
        with pytest.raises(RedfishUnavailable) as info:
            RedfishClient(url, timeout_s=5).get()
        thread.join(5)
    assert str(info.value).startswith(f"{url}: no valid HTTP answer (BadStatusLine: ")


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:abc/redfish/v1", "Port could not be cast to integer value as 'abc'"),
    ("http://[bmc/redfish/v1", "Invalid IPv6 URL"),
])
def test_a_url_python_cannot_split_is_one_line(url, why):
    with pytest.raises(RedfishUnavailable) as info:
        RedfishClient(url)
    assert str(info.value) == f"Redfish URL {url!r} is not a valid URL ({why})"


# --- TLS --------------------------------------------------------------------------------------------------------------


def test_tls_self_signed_certificate_refused_unless_told_accepted_when_trusted(certificate, monkeypatch):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    s = Server(tls=context)
    try:
        url = s.base + POWER
        with pytest.raises(RedfishUnavailable) as info:
            RedfishClient(url).get()
        assert str(info.value) == (f"{url}: TLS certificate not trusted (self-signed certificate); set "
                                   "HASHBENCH_REDFISH_INSECURE=1 to accept the BMC's own certificate")
        insecure = RedfishSource(RedfishClient(url, verify_tls=False))
        assert insecure.read_watts() == 350.0
        assert insecure.detail == (f"Redfish {url} PowerControl[0] (System Power Control); TLS certificate not "
                                   "verified (HASHBENCH_REDFISH_INSECURE=1)")
        # Trusted (the certificate is in the trust store OpenSSL is pointed at): verified, and nothing said.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = RedfishSource(RedfishClient(url))
        assert trusted.read_watts() == 350.0 and trusted.client.verified
        assert trusted.detail == f"Redfish {url} PowerControl[0] (System Power Control)"
    finally:
        s.close()


# --- following links --------------------------------------------------------------------------------------------------


def test_found_from_the_root_the_power_url_is_absolute_and_the_detail_exact(server):
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1"))
    assert source.power_url == server.base + POWER
    assert source.detail == (f"Redfish {server.base}{POWER} PowerControl[0] (System Power Control); plain HTTP, not "
                             "authenticated by TLS")


def test_nothing_found_says_what_to_give(server):
    server.docs["/redfish/v1/Chassis/1U"] = {"@odata.id": "/redfish/v1/Chassis/1U", "Id": "1U"}  # no Power link
    server.docs["/array"] = [{"@odata.id": POWER}]  # a JSON array: no links are followed in it
    for start in ("/redfish/v1", "/array"):
        with pytest.raises(RedfishUnavailable) as info:
            RedfishSource(RedfishClient(server.base + start))
        assert str(info.value) == (f"{server.base}{start}: no PowerControl[].PowerConsumedWatts or EnvironmentMetrics "
                                   "PowerWatts found (give the URL of a Chassis Power resource, e.g. "
                                   "https://BMC/redfish/v1/Chassis/1/Power)")


def test_links_are_followed_six_times_at_most(server):
    server.docs["/loop"] = {"Chassis": {"@odata.id": "/loop"}}  # a chassis that links to itself
    with pytest.raises(RedfishUnavailable, match="no PowerControl"):
        RedfishSource(RedfishClient(server.base + "/loop"))
    assert len(server.headers) == 6
    # Power six documents down is found; seven down is not.
    chain = [f"/c{i}" for i in range(7)]
    for here, there in zip(chain, chain[1:], strict=False):
        server.docs[here] = {"Chassis": {"@odata.id": there}}
    server.docs[chain[-1]] = TREE[POWER]
    assert RedfishSource(RedfishClient(server.base + chain[1])).power_url == server.base + chain[-1]
    with pytest.raises(RedfishUnavailable, match="no PowerControl"):
        RedfishSource(RedfishClient(server.base + chain[0]))


def test_members_without_a_link_are_skipped(server):
    members = ["1U", {"Name": "no link"}, {"@odata.id": "/redfish/v1/Chassis/1U"}]
    server.docs["/redfish/v1/Chassis"] = {"Members": members}
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis"))
    assert source.power_url == server.base + POWER and "chassis listed" not in source.detail


def _chassis(server, name: str, watts: float | None = None, **fields) -> str:
    """A chassis /redfish/v1/Chassis/NAME with its own Power resource (PowerConsumedWatts = watts) unless None."""
    url = f"/redfish/v1/Chassis/{name}"
    server.docs[url] = {"@odata.id": url, "Id": name, **fields}
    if watts is not None:
        server.docs[url]["Power"] = {"@odata.id": url + "/Power"}
        server.docs[url + "/Power"] = {"PowerControl": [{"MemberId": "0", "PowerConsumedWatts": watts}]}
    return url


def _collection(server, members: list[str]) -> None:
    server.docs["/redfish/v1/Chassis"] = {"Members": [{"@odata.id": m} for m in members]}


def test_a_dgx_like_bmc_meters_the_node_not_a_part_listed_before_it(server):
    """NVIDIA's DGX/HGX BMCs list the BMC, CPUs, GPU modules and power supplies as chassis, each with power of its
    own; the node is the one no other contains and that is no part by type, wherever it is listed."""
    dgx = "/redfish/v1/Chassis/DGX"
    members = [_chassis(server, "BMC_0", 12.0, ChassisType="Component"),
               _chassis(server, "CPU_0", 280.0, Links={"ContainedBy": {"@odata.id": dgx}}),
               _chassis(server, "HGX_GPU_SXM_1", 690.0, ChassisType="Module"),
               _chassis(server, "PSU_0", 3300.0, ChassisType="PowerSupply"),
               _chassis(server, "DGX", 6120.0, ChassisType="RackMount")]
    _collection(server, members)
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1"))
    assert source.power_url == server.base + dgx + "/Power" and source.read_watts() == 6120.0
    assert f"(chassis DGX, the one not part of another, of 5 listed at {server.base}/redfish/v1/Chassis)" \
        in source.detail


def test_of_several_top_level_chassis_the_one_holding_the_computer_system_goes_first(server):
    system = {"ComputerSystems": [{"@odata.id": "/redfish/v1/Systems/1"}]}
    members = [_chassis(server, "Enclosure", 9000.0, ChassisType="Enclosure"),
               _chassis(server, "Blade3", 800.0, ChassisType="Blade", Links=system)]
    _collection(server, members)
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis"))
    assert source.read_watts() == 800.0
    assert (f"(chassis Blade3, the one holding the computer system, of 2 listed at {server.base}/redfish/v1/Chassis; "
            "name another in HASHBENCH_REDFISH_URL)") in source.detail
    # With no system linked either way, list order decides, and the detail says the BMC left it open.
    del server.docs[members[1]]["Links"]
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis"))
    assert source.read_watts() == 9000.0
    assert "chassis Enclosure, the first with a power reading of 2 that may be the node" in source.detail


@pytest.mark.parametrize(("listed", "more"), [(4, ""), (5, " and 1 more")])
def test_no_node_power_names_what_failed_four_at_most_and_the_parts_not_tried(server, listed, more):
    members = [f"/redfish/v1/Chassis/C{i}" for i in range(listed)]
    server.docs[members[0]] = {"Power": {"@odata.id": members[0] + "/Power"}}  # not served: 404; the rest too
    members.append(_chassis(server, "GPU", 700.0, ChassisType="Card"))  # has power, but a part's
    _collection(server, members)
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(server.base + "/redfish/v1"))
    failures = [f"{server.base}{members[0]}/Power: HTTP 404 Not Found"] + [
        f"{server.base}{m}: HTTP 404 Not Found" for m in members[1:4]]
    assert str(info.value) == (
        f"{server.base}/redfish/v1/Chassis: no node power found; none of the {listed + 1} chassis listed at "
        f"{server.base}/redfish/v1/Chassis gave a power reading: {'; '.join(failures)}{more}; not tried, being part "
        f"of another chassis or a part by type (their power is a share of the node's): "
        f"{server.base}/redfish/v1/Chassis/GPU; name the node's chassis in HASHBENCH_REDFISH_URL")
    # Named directly, the part is metered: the person chose it.
    assert RedfishSource(RedfishClient(server.base + members[-1])).read_watts() == 700.0


def test_chassis_past_the_read_limit_are_not_read_and_the_failure_says_so(server, monkeypatch):
    import hashbench.energy.redfish as redfish

    monkeypatch.setattr(redfish, "MAX_CHASSIS", 2)
    members = [_chassis(server, "A"), _chassis(server, "B"), _chassis(server, "C", 500.0)]
    _collection(server, members)
    chassis = f"{server.base}/redfish/v1/Chassis"
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(chassis))
    assert str(info.value).startswith(f"{chassis}: no node power found; none of the 3 chassis listed at {chassis} "
                                      f"gave a power reading: {server.base}{members[0]}: ")
    assert str(info.value).endswith("; only the first 2 were read; name the node's chassis in HASHBENCH_REDFISH_URL")
    assert len(server.headers) == 3  # the collection, A and B: C, past the limit, was never asked for
    _collection(server, members[:2])  # as many as the limit: all were read, and the message does not say otherwise
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(chassis))
    assert "none of the 2 chassis listed" in str(info.value) and "only the first" not in str(info.value)
    _collection(server, members)
    monkeypatch.setattr(redfish, "MAX_CHASSIS", 3)
    assert RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis")).read_watts() == 500.0


def test_a_path_through_a_chassis_list_reads_six_documents_at_most_as_a_chain_does(server):
    # /d0 -> /d1 -> /d2 -> the Chassis collection -> Node -> Node's Power: six documents along the path, as many as a
    # chain of single links may take. Reading Node inside the list used to count twice, so it stopped one short.
    node = _chassis(server, "Node", 500.0)
    _collection(server, [_chassis(server, "GPU", 700.0, ChassisType="Card"), node])
    chassis = f"{server.base}/redfish/v1/Chassis"
    for here, there in (("/e", "/d0"), ("/d0", "/d1"), ("/d1", "/d2"), ("/d2", "/redfish/v1/Chassis")):
        server.docs[here] = {"Chassis": {"@odata.id": there}}
    assert RedfishSource(RedfishClient(server.base + "/d0")).power_url == server.base + node + "/Power"
    # From /e the list is the fifth document: GPU and Node are read (the sixth), Node's Power would be the seventh.
    server.headers.clear()
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(server.base + "/e"))
    assert len(server.headers) == 7
    assert str(info.value) == (
        f"{chassis}: no node power found; none of the 2 chassis listed at {chassis} gave a power reading: "
        f"{server.base}{node}: {server.base}/e: no PowerControl[].PowerConsumedWatts or EnvironmentMetrics PowerWatts "
        "found (give the URL of a Chassis Power resource, e.g. https://BMC/redfish/v1/Chassis/1/Power); not tried, "
        f"being part of another chassis or a part by type (their power is a share of the node's): {server.base}"
        "/redfish/v1/Chassis/GPU; name the node's chassis in HASHBENCH_REDFISH_URL")
    # A list reached as the sixth document has no reads left for its chassis: none is asked for.
    server.docs["/f"] = {"Chassis": {"@odata.id": "/e"}}
    server.headers.clear()
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(server.base + "/f"))
    assert len(server.headers) == 6
    assert str(info.value) == (f"{chassis}: no node power found; none of the 2 chassis listed at {chassis} gave a "
                               "power reading; name the node's chassis in HASHBENCH_REDFISH_URL")


def test_two_chassis_each_holding_a_computer_system_leave_the_choice_open(server):
    def blade(name: str, watts: float) -> str:
        return _chassis(server, name, watts, Links={"ComputerSystems": [{"@odata.id": f"/redfish/v1/Systems/{name}"}]})

    _collection(server, [blade("Blade1", 800.0), blade("Blade2", 750.0)])
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis"))
    assert source.read_watts() == 800.0
    assert "(chassis Blade1, the first with a power reading of 2 that may be the node (the BMC does not say which " \
        "contains which), of 2 listed at " in source.detail


def test_chassis_that_failed_count_as_maybe_the_node_parts_do_not(server):
    """A chassis that could not be read, or was read and gave no power, may still be the node: the detail says the
    choice is open. A chassis without an Id is named by its URL's last segment, trailing slash or not."""
    node = "/redfish/v1/Chassis/DGX/"  # a trailing slash, as HPE iLO writes its links
    server.docs[node] = {"@odata.id": node, "Power": {"@odata.id": node + "Power/"}}
    server.docs[node + "Power/"] = {"PowerControl": [{"PowerConsumedWatts": 410}]}
    gpus = [_chassis(server, f"GPU{i}", 700.0, ChassisType="Card") for i in range(2)]
    chassis = f"{server.base}/redfish/v1/Chassis"
    for first in ("/redfish/v1/Chassis/Dead", _chassis(server, "Empty")):  # a 404; a chassis without power
        _collection(server, [first, *gpus, node])
        source = RedfishSource(RedfishClient(chassis))
        assert source.read_watts() == 410.0
        assert source.detail.endswith(
            "PowerControl[0] (0) (chassis DGX, the first with a power reading of 2 that may be the node (the BMC "
            f"does not say which contains which), of 4 listed at {chassis}; name another in HASHBENCH_REDFISH_URL); "
            "plain HTTP, not authenticated by TLS")
    # Without the node, the parts are named, each one, and not metered.
    _collection(server, ["/redfish/v1/Chassis/Dead", *gpus])
    with pytest.raises(RedfishUnavailable) as info:
        RedfishSource(RedfishClient(chassis))
    assert str(info.value) == (
        f"{chassis}: no node power found; none of the 3 chassis listed at {chassis} gave a power reading: "
        f"{chassis}/Dead: HTTP 404 Not Found; not tried, being part of another chassis or a part by type (their power "
        f"is a share of the node's): {chassis}/GPU0, {chassis}/GPU1; name the node's chassis in HASHBENCH_REDFISH_URL")


def test_links_and_answers_of_the_wrong_shape_are_stepped_over(server):
    # A chassis answering a JSON array, and Links entries without an @odata.id, hold no link: nothing to follow,
    # nothing contained, and the node is still found.
    server.docs["/redfish/v1/Chassis/Odd"] = ["not", "a", "chassis"]
    node = _chassis(server, "Node", 500.0, Links={"ContainedBy": {"Name": "rack 4"}, "ComputerSystems": ["1", {}]})
    _collection(server, ["/redfish/v1/Chassis/Odd", node, _chassis(server, "GPU", 700.0, ChassisType="Card")])
    source = RedfishSource(RedfishClient(server.base + "/redfish/v1/Chassis"))
    assert source.read_watts() == 500.0 and "(chassis Node, the first with a power reading of 2 " in source.detail


def test_a_reading_that_turns_null_names_the_resource(server):
    source = RedfishSource(RedfishClient(server.base + POWER))
    server.docs[POWER] = {"PowerControl": [{"PowerConsumedWatts": None}]}
    with pytest.raises(RedfishUnavailable) as info:
        source.read_watts()
    assert str(info.value).startswith(f"{server.base}{POWER}: the power resource is there but holds no number (")


def test_window_flags_short_window_boundary(server):
    source = RedfishSource(RedfishClient(server.base + POWER))
    assert source.window_flags(10.0) == []
    assert source.window_flags(9.5) == ["node power sampled once a second: a 9.5 s window holds few BMC readings"]
    source.interval_s = 0.5  # the bound is ten sampling intervals, whatever the interval
    assert source.window_flags(5.0) == [] and len(source.window_flags(4.9)) == 1
