"""Scan TLS ports with sslyze's Python API; print one JSON summary per port.

Run by test_audit.py with the interpreter of the sslyze venv (prepare.yml):
    python sslyze_scan.py HOST:PORT:STARTTLS ...   (STARTTLS: smtp, imap, pop3 or -)
The API gives what the command line does not: a longer network timeout and
fewer connections per server, so a busy test machine does not turn a slow
handshake into a failed scan.
"""

from __future__ import annotations

import json
import sys

from sslyze import (
    ProtocolWithOpportunisticTlsEnum,
    Scanner,
    ScanCommand,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
)

COMMANDS = {
    "SSLv2": ScanCommand.SSL_2_0_CIPHER_SUITES, "SSLv3": ScanCommand.SSL_3_0_CIPHER_SUITES,
    "TLSv1.0": ScanCommand.TLS_1_0_CIPHER_SUITES, "TLSv1.1": ScanCommand.TLS_1_1_CIPHER_SUITES,
    "TLSv1.2": ScanCommand.TLS_1_2_CIPHER_SUITES, "TLSv1.3": ScanCommand.TLS_1_3_CIPHER_SUITES,
}
STARTTLS = {"smtp": ProtocolWithOpportunisticTlsEnum.SMTP, "imap": ProtocolWithOpportunisticTlsEnum.IMAP,
            "pop3": ProtocolWithOpportunisticTlsEnum.POP3, "-": None}


def main(targets):
    requests = []
    for target in targets:
        host, port, starttls = target.rsplit(":", 2)
        config = ServerNetworkConfiguration(tls_server_name_indication=host,
                                            tls_opportunistic_encryption=STARTTLS[starttls],
                                            network_timeout=20, network_max_retries=5)
        requests.append(ServerScanRequest(server_location=ServerNetworkLocation(host, int(port)),
                                          network_configuration=config,
                                          scan_commands=set(COMMANDS.values()) | {ScanCommand.ELLIPTIC_CURVES}))
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=8)
    scanner.queue_scans(requests)
    for result in scanner.get_results():
        location = result.server_location
        summary = {"host": location.hostname, "port": location.port, "status": result.scan_status.name,
                   "error": str(result.connectivity_error_trace or ""), "protocols": {}, "errors": {}}
        if result.scan_result:
            for name, command in COMMANDS.items():
                attempt = getattr(result.scan_result, command.value)
                if attempt.status.name != "COMPLETED":
                    summary["errors"][name] = str(attempt.error_trace)[-400:]
                    continue
                summary["protocols"][name] = [
                    {"name": s.cipher_suite.name,
                     "key": type(s.ephemeral_key).__name__.replace("EphemeralKeyInfo", "") if s.ephemeral_key else None}
                    for s in attempt.result.accepted_cipher_suites]
            curves = result.scan_result.elliptic_curves
            if curves.status.name == "COMPLETED" and curves.result.supported_curves:
                summary["curves"] = [c.name for c in curves.result.supported_curves]
            else:
                summary["curves"] = []
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
