"""Runs pkilint's own command-line linters on many documents in one Python process.

stdin: a JSON list of jobs, each {"kind": "cert" | "chain" | "crl", "files": [...]} ("chain":
issuer then subject). stdout: a JSON list, per job, of the findings pkilint's JSON report holds
(severity WARNING and up): {"severity", "code", "message", "node_path"}. pkilint decides
everything; this file only saves a Python start-up per document.
"""
import contextlib
import io
import json
import sys

from pkilint.bin import lint_crl, lint_pkix_cert, lint_pkix_signer_signee_cert_chain

LINTERS = {
    "cert": lambda files: lint_pkix_cert.main(["lint", "-f", "JSON", "-s", "WARNING", *files]),
    "chain": lambda files: lint_pkix_signer_signee_cert_chain.main(["lint", "-f", "JSON", "-s", "WARNING", *files]),
    "crl": lambda files: lint_crl.main(["lint", "-t", "CRL", "-p", "PKIX", "-f", "JSON", "-s", "WARNING", *files]),
}

out = []
for job in json.load(sys.stdin):
    buf = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        LINTERS[job["kind"]](job["files"])
    text = buf.getvalue().strip()
    if not text:
        out.append([{"severity": "FATAL", "code": "pkilint.no_report", "message": err.getvalue().strip(), "node_path": ""}])
        continue
    findings = []
    for result in json.loads(text)["results"]:
        for f in result["finding_descriptions"]:
            findings.append({"severity": f["severity"], "code": f["code"], "message": f.get("message") or "", "node_path": result["node_path"]})
    out.append(findings)
json.dump(out, sys.stdout)
