"""Drives jiesu's Open311 GeoReport v2 endpoint with a real client library from PyPI.

`georeport` (requests + xmltodict) does the spec's GETs, in JSON and in XML: the service list,
a service definition, requests by filter and one request. It does not POST, so the report, the
discovery document and the token lookup go through `requests`, which the library is built on.
Usage: open311-client.py BASE_URL DEMO_DIR (the demo's open311.key and demo-users.txt).
"""

import sys
import uuid

import requests
import xmltodict
from georeport import GeoReport

base, demo = sys.argv[1], sys.argv[2]
endpoint = f"{base}/open311/v2"
key = open(f"{demo}/open311.key").read().strip()
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    checks += 1


# Discovery names the jurisdiction this endpoint serves.
disc = requests.get(f"{endpoint}/discovery.json").json()
jurisdiction = disc["jurisdiction_id"]
check(jurisdiction == "djk.gov.cn", f"jurisdiction_id {jurisdiction}")
check(disc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2", "specification")
xml = xmltodict.parse(requests.get(f"{endpoint}/discovery.xml").content)["discovery"]
check(xml["jurisdiction_id"] == jurisdiction, "discovery.xml says the same")
check(xml["endpoints"]["endpoint"]["formats"]["format"] == ["text/xml", "application/json"], "formats")

# A citizen reports a broken manhole cover through an app holding the county's key.
tag = uuid.uuid4().hex[:8]
form = {
    "api_key": key,
    "jurisdiction_id": jurisdiction,
    "service_code": "urban.manhole",
    "address_string": "丹江口市均州路街道丹赵路18号",
    "lat": "32.5405",
    "long": "111.5130",
    "description": f"丹赵路18号门口井盖破损，夜里很危险。编号{tag}",
    "first_name": "伟",
    "last_name": "张",
    "phone": "13912345678",
    "attribute[kind]": "hazard",
}
r = requests.post(f"{endpoint}/requests.json", data=form)
check(r.status_code == 200, f"POST {r.status_code} {r.text}")
number = r.json()[0]["service_request_id"]
check(len(number) == 14, f"service_request_id {number}")
again = requests.post(f"{endpoint}/requests.xml", data=form)
check(
    xmltodict.parse(again.content)["service_requests"]["request"]["service_request_id"] == number,
    "the same report posted again is the same request (XML answer)",
)
bad = requests.post(f"{endpoint}/requests.json", data={**form, "api_key": "o311_nope"})
check(bad.status_code == 403 and bad.json()[0]["code"] == 403, "a wrong key is 403")

for fmt in ("json", "xml"):
    client = GeoReport(endpoint, jurisdiction=jurisdiction, output_format=fmt)
    services = client.get_service_list()
    codes = {s["service_code"]: s for s in services}
    check("urban.manhole" in codes and codes["urban.manhole"]["group"], f"{fmt}: service list")
    check(str(codes["urban.manhole"]["metadata"]).lower() == "true", f"{fmt}: metadata")
    definition = client.get_service_definition("urban.manhole")
    attrs = definition["attributes"]
    if fmt == "xml":
        attrs = attrs["attribute"]
    check({a["code"] for a in attrs} >= {"title", "kind", "anonymous"}, f"{fmt}: attributes")
    one = client.get_service_request(number)
    if fmt == "xml" and isinstance(one, list):
        one = one[0]
    check(one["service_request_id"] == number and one["status"] == "open", f"{fmt}: one request")
    check("13912345678" not in (one["description"] or ""), f"{fmt}: the reporter's number hidden")
    listed = client.get_service_requests(service_code="urban.manhole", status="open")
    if isinstance(listed, dict):
        listed = [listed]
    check(any(x["service_request_id"] == number for x in listed), f"{fmt}: in the open list")
    by_id = client.get_service_requests(service_request_id=number)
    if isinstance(by_id, dict):
        by_id = [by_id]
    check([x["service_request_id"] for x in by_id] == [number], f"{fmt}: by id")
    try:
        client.get_service_definition("no.such")
        check(False, f"{fmt}: an unknown service is refused")
    except requests.HTTPError as e:
        check(e.response.status_code == 404, f"{fmt}: unknown service is 404")

# A token (the case's id, as staff see it) resolves to the request's number.
users = dict(line.split("\t")[:2] for line in open(f"{demo}/demo-users.txt"))
login = requests.post(
    f"{base}/api/v1/auth/login", json={"username": "dispatcher", "password": users["dispatcher"]}
).json()
case = requests.get(
    f"{base}/api/v1/cases/{number}", headers={"authorization": f"Bearer {login['token']}"}
).json()
check(case["channel"] == "open311", "an open311 case in the county's system")
token = requests.get(f"{endpoint}/tokens/{case['id']}.json").json()
check(token[0]["service_request_id"] == number, "token → service_request_id")

print(f"open311 client: {checks} checks passed (georeport 0.3.1, JSON and XML)")
