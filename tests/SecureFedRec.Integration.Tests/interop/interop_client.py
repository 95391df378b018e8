#!/usr/bin/env python3
"""gRPC interop check of the SecureFedRec coordinator with Debian's python3-grpcio.

Uses only protocol-spec/proto and the standard health/reflection messages in standard/ (written from the gRPC docs:
Debian ships neither grpc_health nor grpc_reflection): the message classes are generated at run time with
grpc_tools.protoc (python3-grpc-tools) into a temporary directory; the calls are grpc generic calls (no stubs needed).

Usage: interop_client.py --target 127.0.0.1:PORT --ca CERT.pem --proto-dir protocol-spec/proto \
           --enrol-request HEX --enrol-headers JSON --unknown-request HEX --unknown-headers JSON
Prints one line per check ("ok <name>" / "FAIL <name>: ...") and exits 1 when any check failed.
"""
import argparse
import importlib
import json
import os
import sys
import tempfile

import grpc

PKG = "/securefedrec.coordinator.v1."
failures = []


def check(name, condition, detail=""):
    if condition:
        print(f"ok {name}")
    else:
        print(f"FAIL {name}: {detail}")
        failures.append(name)


def generate(proto_dir):
    try:
        from grpc_tools import protoc
    except ImportError:
        print("FAIL setup: grpc_tools (python3-grpc-tools) is required to generate messages from the .proto files")
        sys.exit(2)
    out = tempfile.mkdtemp(prefix="sfr-interop-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    standard = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standard")
    for root, name in [(proto_dir, "secagg.proto"), (proto_dir, "coordinator.proto"), (standard, "health.proto"), (standard, "reflection.proto")]:
        rc = protoc.main(["protoc", f"-I{root}", f"-I{include}", f"--python_out={out}", os.path.join(root, name)])
        if rc != 0:
            print(f"FAIL setup: protoc exited {rc} for {name}")
            sys.exit(2)
    sys.path.insert(0, out)
    return (importlib.import_module("coordinator_pb2"), importlib.import_module("health_pb2"),
            importlib.import_module("reflection_pb2"))


def code_of(call):
    try:
        call()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--enrol-request", required=True)
    ap.add_argument("--enrol-headers", required=True)
    ap.add_argument("--unknown-request", required=True)
    ap.add_argument("--unknown-headers", required=True)
    ap.add_argument("--max-message", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--roster-sha256", default=None, help="hex SHA-256 of the signed roster file the coordinator serves")
    a = ap.parse_args()

    pb, health_pb, reflection_pb = generate(a.proto_dir)
    with open(a.ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    options = [("grpc.ssl_target_name_override", "localhost")]
    channel = grpc.secure_channel(a.target, creds, options=options)

    raw = lambda b: b  # noqa: E731
    status = channel.unary_unary(PKG + "CoordinatorStatus/GetStatus",
                                 request_serializer=pb.GetStatusRequest.SerializeToString,
                                 response_deserializer=pb.GetStatusResponse.FromString)
    resp = status(pb.GetStatusRequest(), timeout=10)
    check("status_ok", resp.api_version == "securefedrec.coordinator.v1", repr(resp))
    check("status_clock", resp.server_time_unix_ms > 0, repr(resp))

    # The signed roster: public (no signature headers), the exact file bytes.
    if a.roster_sha256 is not None:
        import hashlib
        get_roster = channel.unary_unary(PKG + "Membership/GetRoster",
                                         request_serializer=pb.GetRosterRequest.SerializeToString,
                                         response_deserializer=pb.GetRosterResponse.FromString)
        try:
            r = get_roster(pb.GetRosterRequest(), timeout=10)
            check("roster_public_exact_bytes", hashlib.sha256(r.roster).hexdigest() == a.roster_sha256 and r.version >= 1, repr(r.version))
        except grpc.RpcError as e:
            check("roster_public_exact_bytes", False, f"{e.code()} {e.details()}")

    # Malformed message: bytes that are not a GetStatusRequest (field 1, wire type 7 does not exist).
    status_raw = channel.unary_unary(PKG + "CoordinatorStatus/GetStatus", request_serializer=raw, response_deserializer=raw)
    code, _ = code_of(lambda: status_raw(b"\x0f\xff\xff", timeout=10))
    check("malformed_message_internal", code == grpc.StatusCode.INTERNAL, str(code))

    # Oversized request: GetStatus takes at most 64 KiB; the coordinator refuses more from the length prefix.
    big = b"\x0a" + bytes([0x80, 0x80, 0x05]) + b"x" * (80 * 1024)  # field 1 (unknown), 80 KiB
    code, _ = code_of(lambda: status_raw(big, timeout=20))
    check("oversized_request_resource_exhausted", code == grpc.StatusCode.RESOURCE_EXHAUSTED, str(code))
    enrol_raw = channel.unary_unary(PKG + "Enrolment/Enrol", request_serializer=raw, response_deserializer=pb.EnrolResponse.FromString)

    # Oversized response for this client: python's own limit, on a well-formed coordinator frame.
    tiny = grpc.secure_channel(a.target, creds, options=options + [("grpc.max_receive_message_length", 4)])
    code, _ = code_of(lambda: tiny.unary_unary(PKG + "CoordinatorStatus/GetStatus",
                                               request_serializer=pb.GetStatusRequest.SerializeToString,
                                               response_deserializer=pb.GetStatusResponse.FromString)(pb.GetStatusRequest(), timeout=10))
    check("oversized_response_resource_exhausted", code == grpc.StatusCode.RESOURCE_EXHAUSTED, str(code))

    # Unknown method, and paths that differ from a real one only in case (gRPC paths are case-sensitive).
    code, _ = code_of(lambda: channel.unary_unary(PKG + "Enrolment/Nope", request_serializer=raw, response_deserializer=raw)(b"", timeout=10))
    check("unknown_method_unimplemented", code == grpc.StatusCode.UNIMPLEMENTED, str(code))
    for path in ["/securefedrec.coordinator.v1.CoordinatorStatus/getstatus", "/securefedrec.coordinator.v1.coordinatorstatus/GetStatus"]:
        code, _ = code_of(lambda: channel.unary_unary(path, request_serializer=raw, response_deserializer=raw)(b"", timeout=10))
        if code != grpc.StatusCode.UNIMPLEMENTED:
            break
    check("case_changed_method_unimplemented", code == grpc.StatusCode.UNIMPLEMENTED, str(code))

    # grpc.health.v1: the overall status is backed by a store query; an unknown service name is NOT_FOUND.
    health = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=health_pb.HealthCheckRequest.SerializeToString,
                                 response_deserializer=health_pb.HealthCheckResponse.FromString)
    try:
        h = health(health_pb.HealthCheckRequest(service=""), timeout=10)
        check("health_serving", h.status == health_pb.HealthCheckResponse.SERVING, repr(h))
    except grpc.RpcError as e:
        check("health_serving", False, f"{e.code()} {e.details()}")
    code, _ = code_of(lambda: health(health_pb.HealthCheckRequest(service="no.such.Service"), timeout=10))
    check("health_unknown_service_not_found", code == grpc.StatusCode.NOT_FOUND, str(code))

    # Server reflection (v1alpha, bidi stream): the service list, then the file that defines Rounds (with its import).
    info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=reflection_pb.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb.ServerReflectionResponse.FromString)
    try:
        replies = list(info(iter([reflection_pb.ServerReflectionRequest(list_services=""),
                                  reflection_pb.ServerReflectionRequest(file_containing_symbol="securefedrec.coordinator.v1.Rounds")]), timeout=10))
        names = {s.name for s in replies[0].list_services_response.service}
        wanted = {"securefedrec.coordinator.v1.CoordinatorStatus", "securefedrec.coordinator.v1.Enrolment",
                  "securefedrec.coordinator.v1.Rounds", "securefedrec.coordinator.v1.Membership", "grpc.health.v1.Health"}
        check("reflection_lists_services", wanted <= names, repr(sorted(names)))
        from google.protobuf import descriptor_pb2
        files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in replies[1].file_descriptor_response.file_descriptor_proto]
        coord = [f for f in files if f.package == "securefedrec.coordinator.v1"]
        ok = len(coord) == 1 and "secagg.proto" in coord[0].dependency and any(sv.name == "Rounds" and len(sv.method) == 7 for sv in coord[0].service)
        check("reflection_describes_rounds", ok, repr([(f.name, list(f.dependency)) for f in files]))
    except grpc.RpcError as e:
        check("reflection_lists_services", False, f"{e.code()} {e.details()}")
        check("reflection_describes_rounds", False, "no reflection")

    # Enrolment without the signature headers.
    enrol_bytes = bytes.fromhex(a.enrol_request)
    code, _ = code_of(lambda: enrol_raw(enrol_bytes, timeout=10))
    check("unsigned_enrol_unauthenticated", code == grpc.StatusCode.UNAUTHENTICATED, str(code))

    # Enrolment signed by an allow-listed identity (headers signed by the test over these exact bytes).
    headers = [(k, v if not k.endswith("-bin") else __import__("base64").b64decode(v)) for k, v in json.loads(a.enrol_headers).items()]
    try:
        r = enrol_raw(enrol_bytes, metadata=headers, timeout=10)
        check("signed_enrol_ok", len(r.client_id) == 64 and r.enrolled_at_unix_ms > 0, repr(r))
    except grpc.RpcError as e:
        check("signed_enrol_ok", False, f"{e.code()} {e.details()}")

    # The same signed request again: a replay.
    code, details = code_of(lambda: enrol_raw(enrol_bytes, metadata=headers, timeout=10))
    check("replayed_enrol_refused", code == grpc.StatusCode.UNAUTHENTICATED and "Replayed" in details, f"{code} {details}")

    # A validly signed request from an identity that is not on the allow-list.
    unknown = [(k, v if not k.endswith("-bin") else __import__("base64").b64decode(v)) for k, v in json.loads(a.unknown_headers).items()]
    code, details = code_of(lambda: enrol_raw(bytes.fromhex(a.unknown_request), metadata=unknown, timeout=10))
    check("unknown_client_permission_denied", code == grpc.StatusCode.PERMISSION_DENIED and details == "Permission denied.", f"{code} {details}")

    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
