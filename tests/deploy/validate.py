#!/usr/bin/env python3
"""Checks for tests/deploy/run: each subcommand validates one deployment file and exits non-zero
with a one-line reason on the first problem. Standard library only (json, plistlib, struct)."""

import json
import os
import plistlib
import re
import struct
import subprocess
import sys

HOST_NAME = "org.carecard.host"
DEV_ID = "pggklkelfcagmclfcaejdknbclgpeaco"
EXTENSION_ID = re.compile(r"^[a-p]{32}$")
# DESIGN.md: the default allow-lists an enterprise policy starts from.
CIS2_LOGIN = [
    "https://am.nhsidentity.spineservices.nhs.uk",
    "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk",
]
CIS2_CARD_MANAGEMENT = ["https://manage-care-identities.care-identity-service2.nhs.uk"]
SCHEMA_KEYS = {"allowedOrigins", "cardManagementOrigins", "developerMode", "logLevel"}


class Invalid(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Invalid(message)


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Invalid(f"{path}: {e}") from e


def check_schema(path):
    """The managed-storage schema as Chrome wants it, with exactly the extension's four keys."""
    schema = load_json(path)
    expect(schema.get("type") == "object", "top-level type must be object")
    expect("additionalProperties" not in schema, "Chrome forbids top-level additionalProperties")
    props = schema.get("properties", {})
    expect(set(props) == SCHEMA_KEYS, f"properties are {sorted(props)}, want {sorted(SCHEMA_KEYS)}")
    for key in ("allowedOrigins", "cardManagementOrigins"):
        expect(props[key].get("type") == "array", f"{key} must be an array")
        expect(props[key].get("items") == {"type": "string"}, f"{key} items must be strings")
    expect(props["developerMode"].get("type") == "boolean", "developerMode must be boolean")
    expect(props["logLevel"].get("type") == "string", "logLevel must be a string")
    levels = props["logLevel"].get("enum")
    expect(isinstance(levels, list) and "info" in levels, "logLevel needs an enum containing info")
    return schema


def conforms(value, schema, where):
    """The subset of JSON schema Chrome's managed storage uses: type, items, properties, enum."""
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int}
    expect(kind in types, f"{where}: schema type {kind!r} not understood by this check")
    expect(isinstance(value, types[kind]), f"{where}: {value!r} is not a {kind}")
    if kind == "array":
        for i, item in enumerate(value):
            conforms(item, schema["items"], f"{where}[{i}]")
    if kind == "object":
        props = schema.get("properties", {})
        for key, item in value.items():
            expect(key in props, f"{where}: key {key!r} is not in the managed schema")
            conforms(item, props[key], f"{where}.{key}")
    if "enum" in schema:
        expect(value in schema["enum"], f"{where}: {value!r} not one of {schema['enum']}")


def check_cis2_defaults(settings, where):
    expect(set(settings) == SCHEMA_KEYS, f"{where}: sets {sorted(settings)}, want all of {sorted(SCHEMA_KEYS)}")
    expect(settings["allowedOrigins"] == CIS2_LOGIN, f"{where}: allowedOrigins are not the CIS2 defaults")
    expect(
        settings["cardManagementOrigins"] == CIS2_CARD_MANAGEMENT,
        f"{where}: cardManagementOrigins are not the CIS2 default",
    )
    expect(settings["developerMode"] is False, f"{where}: developerMode must be false")
    expect(settings["logLevel"] == "info", f"{where}: logLevel should be info")


def check_browser_policy(policy, where):
    expect(policy.get("NativeMessagingAllowlist") == [HOST_NAME], f"{where}: NativeMessagingAllowlist must be [{HOST_NAME}]")
    forced = policy.get("ExtensionInstallForcelist")
    expect(isinstance(forced, list) and len(forced) == 1, f"{where}: ExtensionInstallForcelist needs one entry")
    expect(
        re.fullmatch(r"[^;]+;[^;]+", forced[0]) is not None,
        f"{where}: ExtensionInstallForcelist entry must be <id>;<update URL>",
    )


def check_linux_policy(path, schema_path):
    schema = load_json(schema_path)
    policy = load_json(path)
    check_browser_policy(policy, path)
    extensions = policy.get("3rdparty", {}).get("extensions", {})
    expect(len(extensions) == 1, f"{path}: want one extension under 3rdparty.extensions")
    for ext_id, settings in extensions.items():
        conforms(settings, schema, f"{path} 3rdparty {ext_id}")
        check_cis2_defaults(settings, path)
        expect(policy["ExtensionInstallForcelist"][0].startswith(ext_id + ";"), f"{path}: forced and managed IDs differ")


def check_mobileconfig(path, schema_path):
    schema = load_json(schema_path)
    with open(path, "rb") as f:
        profile = plistlib.load(f)
    expect(profile.get("PayloadType") == "Configuration", f"{path}: not a configuration profile")
    payloads = {p["PayloadType"]: p for p in profile.get("PayloadContent", [])}
    uuids = [p.get("PayloadUUID") for p in profile["PayloadContent"]] + [profile.get("PayloadUUID")]
    expect(len(set(uuids)) == len(uuids) and all(uuids), f"{path}: PayloadUUIDs must be present and distinct")
    for browser in ("com.google.Chrome", "com.microsoft.Edge"):
        expect(browser in payloads, f"{path}: no {browser} payload")
        check_browser_policy(payloads[browser], f"{path} {browser}")
        ext = [t for t in payloads if t.startswith(browser + ".extensions.")]
        expect(len(ext) == 1, f"{path}: want one {browser}.extensions.<id> payload")
        settings = {k: v for k, v in payloads[ext[0]].items() if not k.startswith("Payload")}
        conforms(settings, schema, f"{path} {ext[0]}")
        check_cis2_defaults(settings, f"{path} {ext[0]}")


def parse_reg(path):
    """regedit's text format: [key] sections of "name"=value lines (string, dword:, @ default)."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    expect("\r\n" in text and "\n" not in text.replace("\r\n", ""), f"{path}: regedit wants CRLF line ends")
    lines = text.split("\r\n")
    expect(lines[0] == "Windows Registry Editor Version 5.00", f"{path}: missing regedit header")
    keys, current = {}, None
    for n, line in enumerate(lines[1:], start=2):
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = keys.setdefault(line[1:-1], {})
            continue
        m = re.fullmatch(r'(@|"([^"]+)")=(?:"((?:[^"\\]|\\.)*)"|dword:([0-9a-f]{8}))', line)
        expect(m is not None and current is not None, f"{path}:{n}: cannot read {line!r}")
        name = "@" if m.group(1) == "@" else m.group(2)
        if m.group(4) is not None:
            current[name] = int(m.group(4), 16)
        else:
            current[name] = re.sub(r"\\(.)", r"\1", m.group(3))
    return keys


def reg_list(key_values):
    """A policy list: values named 1, 2, ... in order."""
    names = sorted(key_values, key=int)
    expect(names == [str(i) for i in range(1, len(names) + 1)], "list values must be named 1, 2, ...")
    return [key_values[n] for n in names]


def check_reg(path, schema_path, vendor):
    schema = load_json(schema_path)
    keys = parse_reg(path)
    base = f"HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\{vendor}"
    host_key = f"HKEY_LOCAL_MACHINE\\SOFTWARE\\{vendor}\\NativeMessagingHosts\\{HOST_NAME}"
    expect(keys.get(host_key, {}).get("@", "").endswith(f"\\{HOST_NAME}.json"), f"{path}: no host registration at {host_key}")
    policy = {
        "NativeMessagingAllowlist": reg_list(keys.get(f"{base}\\NativeMessagingAllowlist", {})),
        "ExtensionInstallForcelist": reg_list(keys.get(f"{base}\\ExtensionInstallForcelist", {})),
    }
    check_browser_policy(policy, path)
    prefix = f"{base}\\3rdparty\\extensions\\"
    roots = [k for k in keys if k.startswith(prefix) and k.endswith("\\policy")]
    expect(len(roots) == 1, f"{path}: want one 3rdparty ...\\policy key")
    settings = {}
    for name, value in keys[roots[0]].items():
        expect(name in schema["properties"], f"{path}: value {name!r} is not in the managed schema")
        kind = schema["properties"][name]["type"]
        settings[name] = bool(value) if kind == "boolean" else value
    for key, values in keys.items():
        if key.startswith(roots[0] + "\\"):
            settings[key[len(roots[0]) + 1 :]] = reg_list(values)
    conforms(settings, schema, f"{path} 3rdparty")
    check_cis2_defaults(settings, path)


def check_manifest_fields(path):
    manifest = load_json(path)
    expect(manifest.get("name") == HOST_NAME, f"{path}: name must be {HOST_NAME}")
    expect(isinstance(manifest.get("description"), str) and manifest["description"], f"{path}: needs a description")
    expect(manifest.get("type") == "stdio", f"{path}: type must be stdio")
    expect(isinstance(manifest.get("path"), str) and manifest["path"], f"{path}: needs a path")
    origins = manifest.get("allowed_origins")
    expect(isinstance(origins, list) and origins, f"{path}: needs allowed_origins")
    return manifest


def check_manifest_template(path):
    """The template names no extension: the installer or package puts exactly the IDs asked for
    in place of its one placeholder origin (production by default, DESIGN.md)."""
    manifest = check_manifest_fields(path)
    want = ["chrome-extension://@STORE_EXTENSION_ID@/"]
    expect(manifest["allowed_origins"] == want, f"{path}: allowed_origins must be {want}")


def check_config_template(path):
    config = load_json(path)
    expect(set(config) == {"allowedExtensionIds", "developerMode", "logLevel"}, f"{path}: keys {sorted(config)}")
    expect(config["allowedExtensionIds"] == ["@STORE_EXTENSION_ID@"], f"{path}: allowedExtensionIds must be the placeholder")
    expect(config["developerMode"] is False, f"{path}: developerMode must be false")
    expect(config["logLevel"] == "info", f"{path}: logLevel must be info")


def check_installed_manifest(path, binary, *extension_ids):
    """An installed manifest: no placeholders, absolute existing executable, exactly the origins
    of extension_ids."""
    check_production_manifest(path, binary, *extension_ids)


def check_production_manifest(path, binary, *extension_ids):
    """An installed manifest allowing exactly extension_ids."""
    manifest = check_manifest_fields(path)
    expect(os.path.basename(path) == f"{HOST_NAME}.json", f"{path}: file name must be {HOST_NAME}.json")
    expect(set(manifest) == {"name", "description", "path", "type", "allowed_origins"}, f"{path}: unexpected keys")
    host = manifest["path"]
    expect(os.path.isabs(host), f"{path}: path {host!r} is not absolute")
    expect(os.path.realpath(host) == os.path.realpath(binary), f"{path}: path {host!r} is not {binary!r}")
    expect(os.path.isfile(host) and os.access(host, os.X_OK), f"{path}: {host!r} is not an executable file")
    want = [f"chrome-extension://{i}/" for i in extension_ids]
    expect(manifest["allowed_origins"] == want, f"{path}: allowed_origins {manifest['allowed_origins']} want {want}")
    expect("@" not in json.dumps(manifest), f"{path}: a placeholder was left in")


def check_host_config(path, *extension_ids):
    check_production_config(path, *extension_ids)


def check_production_config(path, *extension_ids):
    """A host config allowing exactly extension_ids."""
    config = load_json(path)
    expect(set(config) == {"allowedExtensionIds", "developerMode", "logLevel"}, f"{path}: keys {sorted(config)}")
    expect_production_values(path, config, extension_ids)


def expect_production_values(path, config, extension_ids):
    """The Chrome list is exactly extension_ids; developer mode off, log level info."""
    ids = config["allowedExtensionIds"]
    expect(all(isinstance(i, str) and EXTENSION_ID.match(i) for i in ids), f"{path}: an ID is not 32 letters a-p")
    expect(ids == list(extension_ids), f"{path}: allowedExtensionIds {ids}, want {list(extension_ids)}")
    expect(config["developerMode"] is False, f"{path}: developerMode must be false")
    expect(config["logLevel"] == "info", f"{path}: logLevel must be info")


def check_package_config(path, firefox_ids, *extension_ids):
    """A packaged host config: exactly extension_ids for Chrome and Edge and the comma-separated
    firefox_ids for Firefox, production settings."""
    config = load_json(path)
    expect(set(config) == {"allowedExtensionIds", "allowedFirefoxExtensions", "developerMode", "logLevel"}, f"{path}: keys {sorted(config)}")
    expect_production_values(path, config, extension_ids)
    want = [i for i in firefox_ids.split(",") if i]
    expect(config["allowedFirefoxExtensions"] == want, f"{path}: allowedFirefoxExtensions {config['allowedFirefoxExtensions']}, want {want}")


def check_package_firefox_manifest(path, root, host_path, *extension_ids):
    """A Firefox manifest inside a package staged or installed under root (as check_package_manifest)."""
    manifest = load_json(path)
    expect(set(manifest) == {"name", "description", "path", "type", "allowed_extensions"}, f"{path}: keys {sorted(manifest)}")
    expect(manifest["name"] == HOST_NAME and manifest["type"] == "stdio" and manifest["description"], f"{path}: name/type/description")
    expect(manifest["path"] == host_path, f"{path}: path {manifest['path']!r}, want {host_path!r}")
    on_disk = os.path.join(root, host_path.lstrip("/")) if os.path.isabs(host_path) else os.path.join(os.path.dirname(path), host_path)
    expect(os.path.isfile(on_disk), f"{path}: {on_disk} does not exist")
    expect(manifest["allowed_extensions"] == list(extension_ids), f"{path}: allowed_extensions {manifest['allowed_extensions']}, want {list(extension_ids)}")
    expect("@" not in json.dumps(manifest).replace(FIREFOX_ID, ""), f"{path}: a placeholder was left in")


def same_json(a, b):
    expect(load_json(a) == load_json(b), f"{b} differs from {a}")


def host_status(binary, extension_id, want):
    """Starts the host as the browser would (origin argument, one status frame on stdin) and
    checks it serves (want=served) or refuses (want=refused) that extension."""
    expect_status_answer([binary, f"chrome-extension://{extension_id}/"], extension_id, want)


def expect_status_answer(argv, extension_id, want):
    """Runs the host as argv with one status frame on stdin: served (a result) or refused
    (ERR_ORIGIN_NOT_ALLOWED), as want says."""
    request = json.dumps({"id": 1, "command": "status"}).encode()
    frame = struct.pack("=I", len(request)) + request
    run = subprocess.run(argv, input=frame, capture_output=True, timeout=30)
    out = run.stdout
    expect(len(out) >= 4, f"host wrote no frame (exit {run.returncode}, stderr {run.stderr[-300:]!r})")
    (length,) = struct.unpack("=I", out[:4])
    reply = json.loads(out[4 : 4 + length])
    if want == "served":
        expect(reply.get("id") == 1 and "result" in reply, f"host did not serve {extension_id}: {reply}")
    else:
        code = reply.get("error", {}).get("code")
        expect(code == "ERR_ORIGIN_NOT_ALLOWED", f"host did not refuse {extension_id}: {reply}")


FIREFOX_ID = "carecard@carecard.org"


def check_firefox_policy(path, schema_path, overlay_path):
    """Firefox enterprise policies.json: ExtensionSettings force-installs the add-on whose ID is
    the gecko ID of the Firefox build, and 3rdparty.Extensions gives its managed storage (the
    schema's keys, the CIS2 defaults)."""
    schema = load_json(schema_path)
    gecko = load_json(overlay_path)["browser_specific_settings"]["gecko"]["id"]
    expect(gecko == FIREFOX_ID, f"{overlay_path}: gecko id {gecko}, want {FIREFOX_ID}")
    top = load_json(path)
    expect(set(top) == {"policies"}, f"{path}: want only a policies object")
    policies = top["policies"]
    settings = policies.get("ExtensionSettings", {})
    expect(list(settings) == [gecko], f"{path}: ExtensionSettings must name only {gecko}")
    entry = settings[gecko]
    expect(entry.get("installation_mode") == "force_installed", f"{path}: installation_mode must be force_installed")
    expect(entry.get("install_url") == "@FIREFOX_INSTALL_URL@", f"{path}: install_url must be the @FIREFOX_INSTALL_URL@ placeholder")
    extensions = policies.get("3rdparty", {}).get("Extensions", {})
    expect(list(extensions) == [gecko], f"{path}: 3rdparty.Extensions must name only {gecko}")
    conforms(extensions[gecko], schema, f"{path} 3rdparty {gecko}")
    check_cis2_defaults(extensions[gecko], path)


def check_firefox_manifest_template(path):
    manifest = load_json(path)
    expect(set(manifest) == {"name", "description", "path", "type", "allowed_extensions"}, f"{path}: keys {sorted(manifest)}")
    expect(manifest["name"] == HOST_NAME and manifest["type"] == "stdio", f"{path}: name/type")
    expect(manifest["path"] == "@HOST_PATH@", f"{path}: path must be @HOST_PATH@")
    expect(manifest["allowed_extensions"] == ["@FIREFOX_EXTENSION_ID@"], f"{path}: allowed_extensions must be the placeholder")
    expect(bool(manifest.get("description")), f"{path}: needs a description")


def check_firefox_manifest(path, binary, *extension_ids):
    """An installed Firefox manifest: allowed_extensions exactly extension_ids, absolute existing binary."""
    manifest = load_json(path)
    expect(os.path.basename(path) == f"{HOST_NAME}.json", f"{path}: file name must be {HOST_NAME}.json")
    expect(set(manifest) == {"name", "description", "path", "type", "allowed_extensions"}, f"{path}: keys {sorted(manifest)}")
    host = manifest["path"]
    expect(os.path.isabs(host) and os.path.realpath(host) == os.path.realpath(binary), f"{path}: path {host!r} is not {binary!r}")
    expect(os.path.isfile(host) and os.access(host, os.X_OK), f"{path}: {host!r} is not an executable file")
    expect(manifest["allowed_extensions"] == list(extension_ids), f"{path}: allowed_extensions {manifest['allowed_extensions']}")
    expect("@HOST_PATH@" not in json.dumps(manifest), f"{path}: a placeholder was left in")


def check_firefox_config(path, *firefox_ids):
    config = load_json(path)
    ids = config.get("allowedFirefoxExtensions")
    expect(ids == list(firefox_ids), f"{path}: allowedFirefoxExtensions {ids}, want {list(firefox_ids)}")
    expect(config["developerMode"] is False, f"{path}: developerMode must be false")


def firefox_host_status(binary, manifest, extension_id, want):
    """Starts the host as Firefox would (manifest path and add-on ID) and checks it serves or refuses."""
    expect_status_answer([binary, manifest, extension_id], extension_id, want)


def check_package_manifest(path, root, host_path, *extension_ids):
    """A manifest inside a package staged or installed under root: host_path (as the browser
    will see it, absolute or relative to the manifest on Windows) exists under root, and exactly
    the origins of extension_ids are allowed."""
    manifest = check_manifest_fields(path)
    expect(set(manifest) == {"name", "description", "path", "type", "allowed_origins"}, f"{path}: unexpected keys")
    expect(manifest["path"] == host_path, f"{path}: path {manifest['path']!r}, want {host_path!r}")
    on_disk = os.path.join(root, host_path.lstrip("/")) if os.path.isabs(host_path) else os.path.join(os.path.dirname(path), host_path)
    expect(os.path.isfile(on_disk), f"{path}: {on_disk} does not exist")
    want = [f"chrome-extension://{i}/" for i in extension_ids]
    expect(manifest["allowed_origins"] == want, f"{path}: allowed_origins {manifest['allowed_origins']} want {want}")
    expect("@" not in json.dumps(manifest), f"{path}: a placeholder was left in")


def read_varint(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def protobuf_fields(data):
    """(field number, bytes) of the length-delimited fields of a protobuf message."""
    i, out = 0, []
    while i < len(data):
        key, i = read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            out.append((field, data[i : i + n]))
            i += n
        else:
            raise Invalid(f"protobuf wire type {wire} not expected in a CRX header")
    return out


def crx_id(path, want_id=None):
    """A CRX3 file (Chromium's --pack-extension): magic, version 3, an RSA key proof whose public
    key gives the extension ID recorded in the signed header; prints the ID."""
    import hashlib

    with open(path, "rb") as f:
        data = f.read()
    expect(data[:4] == b"Cr24", f"{path}: not a CRX (magic {data[:4]!r})")
    version, header_len = struct.unpack("<II", data[4:12])
    expect(version == 3, f"{path}: CRX version {version}, want 3")
    header = protobuf_fields(data[12 : 12 + header_len])
    keys = [dict(protobuf_fields(proof)).get(1) for field, proof in header if field == 2]
    signed = [value for field, value in header if field == 10000]
    expect(keys and signed, f"{path}: no RSA key proof or signed header data")
    signed_id = dict(protobuf_fields(signed[0])).get(1)
    to_id = lambda raw: "".join("abcdefghijklmnop"[b >> 4] + "abcdefghijklmnop"[b & 15] for b in raw)
    ids = [to_id(hashlib.sha256(k).digest()[:16]) for k in keys]
    expect(to_id(signed_id) in ids, f"{path}: signed crx_id matches no key")
    expect(data[12 + header_len : 12 + header_len + 2] == b"PK", f"{path}: no zip after the header")
    if want_id:
        expect(to_id(signed_id) == want_id, f"{path}: ID {to_id(signed_id)}, want {want_id}")
    print(to_id(signed_id))


def extension_archive(path, version):
    """The shipped extension (zip or crx): manifest version, no development key, nothing but what
    ships, and every file the manifest and pages refer to is inside."""
    import io
    import zipfile

    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"Cr24":
        (header_len,) = struct.unpack("<I", data[8:12])
        data = data[12 + header_len :]
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    expect(manifest.get("version") == version, f"{path}: manifest version {manifest.get('version')}, want {version}")
    expect("key" not in manifest, f"{path}: the development key must not ship")
    firefox = "browser_specific_settings" in manifest
    if firefox:
        gecko = manifest["browser_specific_settings"].get("gecko", {}).get("id")
        expect(gecko == FIREFOX_ID, f"{path}: gecko id {gecko}, want {FIREFOX_ID}")
        expect("service_worker" not in manifest["background"], f"{path}: Firefox runs background scripts, not a service worker")
    banned = re.compile(r"(^|/)(node_modules|test|tests|scripts)/|(^|/)(package(-lock)?\.json|build|eslint\.config\.js|README\.md)$|\.d\.ts$|(^|/)\.|\.test\.")
    bad = sorted(n for n in names if banned.search(n))
    expect(not bad, f"{path}: ships files that are not part of the extension: {bad}")
    if firefox:
        # Firefox takes managed storage from policies.json, so no schema ships with it.
        wanted = {*manifest["background"]["scripts"], manifest["action"]["default_popup"]}
    else:
        wanted = {manifest["background"]["service_worker"], manifest["action"]["default_popup"], manifest["storage"]["managed_schema"]}
    for script in manifest.get("content_scripts", []):
        wanted.update(script.get("js", []))
    for res in manifest.get("web_accessible_resources", []):
        wanted.update(res.get("resources", []))
    for page in [n for n in names if n.endswith(".html")]:
        html = archive.read(page).decode()
        wanted.update(re.findall(r'(?:src|href)="([^":]+)"', html))
    for js in [n for n in names if n.endswith(".js")]:
        base = os.path.dirname(js)
        for rel in re.findall(r'(?:import|from)\s*\(?\s*"(\.{1,2}/[^"]+)"', archive.read(js).decode()):
            wanted.add(os.path.normpath(os.path.join(base, rel)))
    missing = sorted(w for w in wanted if w.lstrip("/") not in names)
    expect(not missing, f"{path}: referenced but not shipped: {missing}")
    expect(any(n.endswith(".wasm") for n in names), f"{path}: no wasm module")


def update_manifest(path, extension_id, version, crx_name):
    import xml.etree.ElementTree as ET

    ns = {"u": "http://www.google.com/update2/response"}
    root = ET.parse(path).getroot()
    expect(root.tag == "{http://www.google.com/update2/response}gupdate", f"{path}: not a gupdate document")
    apps = root.findall("u:app", ns)
    expect(len(apps) == 1 and apps[0].get("appid") == extension_id, f"{path}: app is not {extension_id}")
    check = apps[0].find("u:updatecheck", ns)
    expect(check is not None and check.get("version") == version, f"{path}: updatecheck version is not {version}")
    expect(check.get("codebase", "").endswith("/" + crx_name), f"{path}: codebase does not name {crx_name}")


COMMANDS = {
    "schema": check_schema,
    "linux-policy": check_linux_policy,
    "mobileconfig": check_mobileconfig,
    "reg": check_reg,
    "manifest-template": check_manifest_template,
    "installed-manifest": check_installed_manifest,
    "host-config": check_host_config,
    "config-template": check_config_template,
    "production-manifest": check_production_manifest,
    "production-config": check_production_config,
    "package-config": check_package_config,
    "package-firefox-manifest": check_package_firefox_manifest,
    "same-json": same_json,
    "host-status": host_status,
    "firefox-policy": check_firefox_policy,
    "firefox-manifest-template": check_firefox_manifest_template,
    "firefox-manifest": check_firefox_manifest,
    "firefox-config": check_firefox_config,
    "firefox-host-status": firefox_host_status,
    "package-manifest": check_package_manifest,
    "crx-id": crx_id,
    "extension-archive": extension_archive,
    "update-manifest": update_manifest,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: validate.py {{{'|'.join(COMMANDS)}}} ARGS...")
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except Invalid as e:
        sys.exit(str(e))
    except (TypeError, KeyError, ValueError, OSError, subprocess.TimeoutExpired) as e:
        sys.exit(f"{type(e).__name__}: {e}")
