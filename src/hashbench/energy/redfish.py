"""Whole-node power from a BMC's Redfish service: HTTP GET of a Chassis Power resource,
PowerControl[].PowerConsumedWatts (or, on BMCs that dropped the Power resource deprecated in Redfish 2020.4, the
Chassis EnvironmentMetrics resource, PowerWatts.Reading), sampled once a second and integrated.

The URL may name the power resource itself (https://bmc/redfish/v1/Chassis/1/Power) or anything above it (the
service root, the Chassis collection, one Chassis): links are followed once, at start. Where the collection holds
several chassis (a GPU server's BMC lists baseboards, GPUs and power supplies beside the node) the node's is taken:
the one no other contains and that is no part by its type; the reading's detail says which one and why.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .reading import NODE
from .source import PowerSource

URL_ENV = "HASHBENCH_REDFISH_URL"
USER_ENV = "HASHBENCH_REDFISH_USER"
PASSWORD_ENV = "HASHBENCH_REDFISH_PASSWORD"
INSECURE_ENV = "HASHBENCH_REDFISH_INSECURE"  # "1": accept the self-signed certificate most BMCs ship with
INTERVAL_S = 1.0
TIMEOUT_S = 5.0


class RedfishUnavailable(Exception):
    """No usable Redfish power reading; the message says why in one line."""


def parse_power(doc: object) -> tuple[float, str]:
    """(watts, which entry) from a Redfish Power resource, or from an EnvironmentMetrics resource (PowerWatts)."""
    if isinstance(doc, dict):
        controls = doc.get("PowerControl")
        found = None
        if isinstance(controls, list) and controls:
            # The first entry is the chassis total on every BMC seen; later ones (when present) are parts of it
            # (a CPU or memory sub-system), whose power is a share of the node's: never read in its place.
            control = controls[0]
            if isinstance(control, dict):
                name = control.get("Name") or control.get("MemberId") or "0"
                found = control.get("PowerConsumedWatts"), f"PowerControl[0] ({name})"
        reading = doc.get("PowerWatts")
        if found is None and isinstance(reading, dict):
            found = reading.get("Reading"), "PowerWatts.Reading"
        if found is not None:
            watts, which = found
            if isinstance(watts, (int, float)) and not isinstance(watts, bool) and math.isfinite(watts):
                if watts <= 0:  # a node running this program never draws 0 W: the BMC measures nothing
                    raise NoPowerReading(f"{which} reads {watts:g} W: the BMC measures no power (no power sensor, "
                                         "or the node reported off)")
                return float(watts), which
            shown = json.dumps(watts) if watts is None or isinstance(watts, (bool, str)) else repr(watts)
            raise NoPowerReading(f"the power resource is there but holds no number ({which} is {shown}): the BMC "
                                 "measures no power now (node powered off, or no power sensor)")
    raise ValueError("no PowerControl[0].PowerConsumedWatts or PowerWatts.Reading in the resource")


class NoPowerReading(ValueError):
    """A power resource whose reading is null: found, but nothing to read in it."""


MAX_HOPS = 6  # documents read along one path from the given URL to a power resource
MAX_CHASSIS = 64  # chassis read from one collection (an HGX/DGX BMC lists a few dozen: baseboards, GPUs, PSUs, ...)
# ChassisType values (Redfish Chassis schema) that name a part of a node, never the node: their power is a share of it.
PART_TYPES = frozenset({"Card", "Component", "Module", "PowerSupply", "StorageEnclosure", "IPBasedDrive", "Expansion",
                        "Sidecar"})


def _link(doc: dict) -> str | None:
    """One step from a service root or a Chassis towards its power."""
    for key in ("Power", "EnvironmentMetrics", "Chassis"):
        link = doc.get(key)
        if isinstance(link, dict) and isinstance(link.get("@odata.id"), str):
            return link["@odata.id"]
    return None


def _members(doc: dict) -> list[str]:
    members = doc.get("Members")
    if not isinstance(members, list):
        return []
    return [m["@odata.id"] for m in members if isinstance(m, dict) and isinstance(m.get("@odata.id"), str)]


def _linked(doc: dict, key: str) -> list[str]:
    """The @odata.id links of a Chassis's Links.KEY (ContainedBy is one link, ComputerSystems a list)."""
    links = doc.get("Links")
    value = links.get(key) if isinstance(links, dict) else None
    value = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [v["@odata.id"] for v in value if isinstance(v, dict) and isinstance(v.get("@odata.id"), str)]


def _names(items: list[str], limit: int = 4, sep: str = ", ") -> str:
    """The first `limit` items, and how many more: a BMC can list dozens of chassis, and a message stays one line."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return sep.join(items[:limit]) + more


class RedfishClient:
    def __init__(self, url: str, user: str | None = None, password: str | None = None, *, verify_tls: bool = True,
                 timeout_s: float = TIMEOUT_S) -> None:
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # noqa: B018 - read for its check: a port that is not a number raises ValueError
        except ValueError as exc:  # "http://[bmc/" (Invalid IPv6 URL), "http://bmc:abc/"
            raise RedfishUnavailable(f"Redfish URL {url!r} is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RedfishUnavailable(f"Redfish URL {url!r} is not an http(s) URL")
        if parts.username is not None or parts.password is not None:  # the URL goes into messages and result files
            raise RedfishUnavailable(f"the Redfish URL holds credentials: give the host alone ({parts.hostname}) and "
                                     f"the login in {USER_ENV} and {PASSWORD_ENV}")
        self.url = url
        self.timeout_s = timeout_s
        self._headers = {"Accept": "application/json", "OData-Version": "4.0"}
        if user is not None:
            # Sent on the first request: many BMCs answer 401 without a challenge, so urllib's handshake never starts.
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._ssl = None
        self.verified = parts.scheme == "https" and verify_tls  # said in the reading's detail when it is not
        if parts.scheme == "https" and not verify_tls:
            self._ssl = ssl.create_default_context()
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE

    def get(self, url: str | None = None) -> object:
        url = urllib.parse.urljoin(self.url, url) if url else self.url
        request = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=self._ssl) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise RedfishUnavailable(f"{url}: credentials rejected (HTTP {exc.code}); set {USER_ENV} and "
                                         f"{PASSWORD_ENV}") from None
            raise RedfishUnavailable(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise RedfishUnavailable(f"{url}: TLS certificate not trusted ({reason.verify_message}); set "
                                         f"{INSECURE_ENV}=1 to accept the BMC's own certificate") from None
            raise RedfishUnavailable(f"cannot reach {url}: {reason}") from None
        except (TimeoutError, OSError) as exc:
            raise RedfishUnavailable(f"cannot reach {url}: {exc}") from None
        except (http.client.HTTPException, ValueError) as exc:  # not HTTP (BadStatusLine), a cut answer, a bad URL
            raise RedfishUnavailable(f"{url}: no valid HTTP answer ({type(exc).__name__}: {exc})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise RedfishUnavailable(f"{url}: the answer is not JSON") from None

    def find_power(self) -> tuple[str, str]:
        """(URL of the node's power resource at or below self.url, which reading in it and, where a collection listed
        several chassis, which one was taken and why)."""
        return self._walk(self.url, MAX_HOPS)

    def _walk(self, url: str, hops: int, doc: object = None) -> tuple[str, str]:
        for hop in range(hops):
            if doc is None:
                doc = self.get(url)
            try:
                return url, parse_power(doc)[1]
            except NoPowerReading as exc:
                raise RedfishUnavailable(f"{url}: {exc}") from None
            except ValueError:
                pass
            if not isinstance(doc, dict):
                break
            link, members = _link(doc), _members(doc)
            if link is None and len(members) > 1:
                return self._choose(url, [urllib.parse.urljoin(self.url, m) for m in members], hops - hop - 1)
            link = link or (members[0] if members else None)
            if link is None:
                break
            url, doc = urllib.parse.urljoin(self.url, link), None
        raise RedfishUnavailable(f"{self.url}: no PowerControl[].PowerConsumedWatts or EnvironmentMetrics PowerWatts "
                                 "found (give the URL of a Chassis Power resource, e.g. "
                                 "https://BMC/redfish/v1/Chassis/1/Power)")

    def _choose(self, url: str, members: list[str], hops: int) -> tuple[str, str]:
        """The node's power among several chassis: a GPU server's BMC lists its baseboards, GPUs, power supplies and
        drive cages beside the node itself, and each may carry a power resource of its own. The node is the chassis
        no other listed one contains (Links.ContainedBy) and that is not a part by its ChassisType; one that holds a
        computer system goes first. Parts are not tried: their power is a share of the node's, not the node's."""
        docs: dict[str, dict] = {}
        failed: dict[str, str] = {}
        for member in members[:MAX_CHASSIS] if hops > 0 else []:
            try:
                doc = self.get(member)
            except RedfishUnavailable as exc:
                failed[member] = str(exc)
                continue
            docs[member] = doc if isinstance(doc, dict) else {}
        listed = set(docs)

        def part(member: str) -> bool:
            doc = docs[member]
            contained = any(urllib.parse.urljoin(self.url, c) in listed - {member} for c in _linked(doc, "ContainedBy"))
            return contained or doc.get("ChassisType") in PART_TYPES

        nodes = sorted((m for m in docs if not part(m)), key=lambda m: not _linked(docs[m], "ComputerSystems"))
        parts = [m for m in docs if m not in nodes]
        for member in nodes:
            try:
                # the member's document, read above, is the walk's first: its hops include it
                power_url, which = self._walk(member, hops, docs[member])
            except RedfishUnavailable as exc:
                failed[member] = str(exc)
                continue
            unread = [m for m in failed if m not in docs]
            return power_url, f"{which} ({self._why(member, docs, url, len(members), nodes, unread)})"
        told = f"; none of the {len(members)} chassis listed at {url} gave a power reading"
        if failed:
            # as listed, whether the chassis could not be read or its power could not
            told += ": " + _names([failed[m] if failed[m].startswith(m) else f"{m}: {failed[m]}"
                                   for m in members if m in failed], sep="; ")
        if parts:
            told += (f"; not tried, being part of another chassis or a part by type (their power is a share of the "
                     f"node's): {_names(parts)}")
        if len(members) > MAX_CHASSIS:
            told += f"; only the first {MAX_CHASSIS} were read"
        raise RedfishUnavailable(f"{url}: no node power found{told}; name the node's chassis in {URL_ENV}")

    @staticmethod
    def _why(member: str, docs: dict[str, dict], url: str, listed: int, nodes: list[str], unread: list[str]) -> str:
        doc = docs[member]
        name = doc.get("Id") if isinstance(doc.get("Id"), str) else member.rstrip("/").rsplit("/", 1)[-1]
        others = [m for m in nodes if m != member] + unread  # chassis that might be the node as well
        if not others:
            rule = "the one not part of another"
        elif _linked(doc, "ComputerSystems") and not any(_linked(docs[m], "ComputerSystems") for m in nodes
                                                         if m != member):
            rule = "the one holding the computer system"
        else:
            rule = (f"the first with a power reading of {len(others) + 1} that may be the node (the BMC does not say "
                    "which contains which)")
        named = f"; name another in {URL_ENV}" if others else ""
        return f"chassis {name}, {rule}, of {listed} listed at {url}{named}"


class RedfishSource(PowerSource):
    name = "redfish"
    layer = NODE
    interval_s = INTERVAL_S

    def __init__(self, client: RedfishClient) -> None:
        self.client = client
        self.power_url, which = client.find_power()  # a reading was parsed there: the source works
        trust = "" if client.verified else (
            f"; TLS certificate not verified ({INSECURE_ENV}=1)" if client.url.startswith("https")
            else "; plain HTTP, not authenticated by TLS")
        self.detail = f"Redfish {self.power_url} {which}{trust}"

    def read_watts(self) -> float:
        doc = self.client.get(self.power_url)
        try:
            return parse_power(doc)[0]
        except ValueError as exc:
            raise RedfishUnavailable(f"{self.power_url}: {exc}") from None

    def window_flags(self, window_s: float) -> list[str]:
        if window_s < 10 * self.interval_s:
            return [f"node power sampled once a second: a {window_s:.1f} s window holds few BMC readings"]
        return []
