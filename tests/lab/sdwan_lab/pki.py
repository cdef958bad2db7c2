"""Per-lab certificates: the lab CA, the server certificate and the two "wrong certificate" variants."""

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

from .faults import LAB_CERT, OTHER_CA_CERT, WRONG_HOST_CERT

LAB_IDENTITIES = ("127.0.0.1", "localhost")
WRONG_HOST_NAME = "ssm.wrong-host.invalid"


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


class LabPki:
    """Writes DIR/ca.pem and DIR/pki/*, and hands out one server SSL context per variant."""

    def __init__(self, lab_dir):
        self.ca_path = lab_dir.ca_pem
        lab_ca = trustme.CA(organization_name="sdwan-lab CA")
        rogue_ca = trustme.CA(organization_name="Unrelated CA")
        leaves = {
            LAB_CERT: lab_ca.issue_cert(*LAB_IDENTITIES, common_name="127.0.0.1"),
            OTHER_CA_CERT: rogue_ca.issue_cert(*LAB_IDENTITIES, common_name="127.0.0.1"),
            WRONG_HOST_CERT: lab_ca.issue_cert(WRONG_HOST_NAME, common_name=WRONG_HOST_NAME),
        }
        lab_ca.cert_pem.write_to_path(str(self.ca_path))
        lab_dir.pki.mkdir(parents=True, exist_ok=True)
        self.files = {}
        self._contexts = {}
        for variant, leaf in leaves.items():
            files = CertFiles(lab_dir.pki / f"{variant}.crt", lab_dir.pki / f"{variant}.key")
            files.cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
            files.key.write_bytes(leaf.private_key_pem.bytes())
            files.key.chmod(0o600)
            self.files[variant] = files
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            leaf.configure_cert(context)
            self._contexts[variant] = context

    def server_context(self, variant=LAB_CERT):
        return self._contexts[variant]

    def client_context(self):
        """What the simulated vManage trusts for its calls to SSM: the lab CA only."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def leaf_der(self, variant):
        return ssl.PEM_cert_to_DER_cert(self.files[variant].cert.read_text())
