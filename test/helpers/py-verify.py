"""Python cryptography's own path builder and verifier (x509.verification), as an independent judge.

usage: py-verify.py ROOT.pem INTERMEDIATES.pem LEAF.pem NAME
NAME is a DNS name or an IP address the leaf is checked for (as a TLS server). Prints "OK", or the
verifier's reason, and exits 0 or 1.
"""
import ipaddress
import sys

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

root_file, int_file, leaf_file, name = sys.argv[1:5]
roots = x509.load_pem_x509_certificates(open(root_file, "rb").read())
intermediates = x509.load_pem_x509_certificates(open(int_file, "rb").read())
leaf = x509.load_pem_x509_certificate(open(leaf_file, "rb").read())
try:
    subject = x509.IPAddress(ipaddress.ip_address(name))
except ValueError:
    subject = x509.DNSName(name)
verifier = PolicyBuilder().store(Store(roots)).build_server_verifier(subject)
try:
    verifier.verify(leaf, intermediates)
except VerificationError as e:
    print(f"refused: {e}")
    sys.exit(1)
print("OK")
