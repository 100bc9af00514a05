/**
 * EXAMPLES for each command's help (`certwright COMMAND --help`), as smallstep shows them: what it
 * does, then a command line that does it. One place for every command, step or not; help renders
 * them wrapped to the terminal, a long command continued with " \" so it pastes whole.
 */
export const EXAMPLES: Record<string, Array<[string, string]>> = {
  wizard: [
    ['Open the guided pipeline for the test environment, resuming where its state left off:', 'certwright --env test'],
    ['The same with line-by-line prompts (screen readers, dumb terminals):', 'certwright wizard --env test --plain'],
  ],
  lab: [
    ['Rehearse the whole pipeline on a throwaway OpenBao on 127.0.0.1:', 'certwright lab'],
    ['Keep the lab\'s state in a directory of your choice:', 'certwright lab --state-dir ./lab-state'],
  ],
  'root create': [
    ['Create the offline root (the passphrase is typed, hidden, twice):', 'certwright root create --env prod --out /media/usb/root --cn "Example Root CA"'],
    ['Scripted, with a passphrase file and one CA level allowed below:', 'certwright root create --env prod --out ./root --cn "Example Root CA" --path-len 1 --passphrase-file ./pass'],
  ],
  'root crl': [['Sign a fresh root CRL valid for 30 days:', 'certwright root crl --root-dir ./root --passphrase-file ./pass --out ./root/root.crl --next-update 30d']],
  'vault-server': [['Run the environment\'s own OpenBao (raft, loopback) and keep its init keys:', 'certwright vault-server --env prod --out ./vault --keys-out ./vault-keys.json']],
  'intermediate request': [['Online: enable pki_int and write the intermediate\'s CSR:', 'certwright intermediate request --env prod --mount pki_int --cn "Example Intermediate CA" --csr-out ./int.csr']],
  'intermediate sign': [['Offline: sign that CSR with the root, pathlen 0:', 'certwright intermediate sign --root-dir ./root --passphrase-file ./pass --csr ./int.csr --out ./int.pem --path-len 0']],
  'intermediate install': [['Online: import the signed intermediate and its root:', 'certwright intermediate install --env prod --mount pki_int --cert ./int.pem --root ./root/root-ca.pem']],
  intermediate: [['Request, sign and install on one machine (lab, rehearsal):', 'certwright intermediate --env test --mount pki_int --cn "Test Intermediate CA" --root-dir ./root --passphrase-file ./pass']],
  'state show': [['Print what certwright knows about the prod environment:', 'certwright state show --env prod']],
  'state forget': [['Forget a step record so that the step runs again:', 'certwright state forget --env test --record intermediate-install@pki_int']],
  'transcript verify': [['Check the ceremony transcript\'s hash chain:', 'certwright transcript verify --env prod']],
  'build-role': [['A client-only role for build certificates and the build server\'s AppRole:', 'certwright build-role --env prod --mount pki_int --role build --allowed-apps web,api --role-id-out ./role_id --secret-id-out ./secret_id']],
  'build-cert': [['In CI: one client certificate for this build of web:', 'certwright build-cert --mount pki_int --role build --app web --git-sha "$GIT_SHA" --out ./cert --role-id-file ./role_id --secret-id-file ./secret_id']],
  'cross-sign request': [['Online: a CSR for pki_int\'s existing intermediate key:', 'certwright cross-sign request --env prod --mount pki_int --csr-out ./twin.csr']],
  'cross-sign sign': [['Offline: the second root signs it:', 'certwright cross-sign sign --root-dir ./app-root --passphrase-file ./pass --csr ./twin.csr --out ./twin.pem']],
  'cross-sign install': [['Online: import the twin as an extra issuer:', 'certwright cross-sign install --env prod --mount pki_int --cert ./twin.pem --root ./app-root/root-ca.pem']],
  'cross-sign': [['All three on one machine (lab, rehearsal):', 'certwright cross-sign --env test --mount pki_int --root-dir ./app-root --passphrase-file ./pass']],
  'verify-tls': [['Which chain does the server present, and does it verify?', 'certwright verify-tls --connect vault.example:8200 --ca ./root/root-ca.pem']],
  hashdir: [['An OpenSSL -CApath directory from two CA files:', 'certwright hashdir --out ./capath ./root/root-ca.pem ./app-root/root-ca.pem']],
  tree: [['The application-root design with what exists of it:', 'certwright tree --env prod --preset app-root --envs test,prod']],
  revoke: [['Revoke a certificate and check that it is in the CRL:', 'certwright revoke --mount pki_int --serial 3a:7f:00:12']],
  'vault-cert': [['Vault\'s own server certificate from pki_int:', 'certwright vault-cert --env prod --mount pki_int --role vault-server --dns vault.example --ip 10.0.0.5 --out ./vault/tls']],
  'vault-https': [['Render the HTTPS config and compose file, then start Vault:', 'certwright vault-https --env prod --tls-dir ./vault/tls --out ./vault --start']],
  'vault-init': [['Initialise over HTTPS with 5 shares, 3 needed (the keys are shown once):', 'certwright vault-init --env prod --key-shares 5 --key-threshold 3']],
  'vault-unseal': [
    ['Unseal with shares typed hidden:', 'certwright vault-unseal --env prod'],
    ['Unseal from key files:', 'certwright vault-unseal --env prod --key-file ./share1 --key-file ./share2'],
  ],
  'switch-urls': [['Check CA and CRL over HTTPS, then switch pki_int\'s AIA/CRL URLs to it:', 'certwright switch-urls --env prod --mount pki_int --base https://vault.example:8200']],
  'agent app': [['A rotating leaf for web, swapped into its TLS dir:', 'certwright agent app --env prod --mount pki_int --name web --common-name web.example --tls-dir /srv/web/tls']],
  'agent proxy': [['Keep a proxy\'s CA chain file current:', 'certwright agent proxy --env prod --mount pki_int --name edge --ca-out /srv/edge/ca-chain.pem']],
  hook: [['What an agent runs after a render (normally from its template):', 'certwright hook --tls-dir /srv/web/tls --env prod --name web']],
  'distribute-ca': [['Copy the root into two service users\' trust paths:', 'certwright distribute-ca --ca ./root/root-ca.pem --users web,api']],
  status: [
    ['The live status screen:', 'certwright status --env prod'],
    ['For monitoring, without a terminal:', 'certwright status --env prod --format prometheus --out /var/lib/node_exporter/certwright.prom'],
  ],
  doctor: [['Find the known failure modes, each with its fix:', 'certwright doctor --env prod']],
  plan: [['The estate file as steps: done, to do, drifted:', 'certwright plan --file ./estate.yaml']],
  'ceremony script': [['The numbered script of the root ceremony, to print and take into the room:', 'certwright ceremony script --file ./estate.yaml --step root']],
  'ceremony verify': [['Check the transcript carried back from the ceremony against its script:', 'certwright ceremony verify --file ./estate.yaml --transcript ./transcript.jsonl']],
  'audit verify': [['Every build certificate Vault issued is in the build audit log, and the other way round:', 'certwright audit verify --env prod --build-log ./build-audit.jsonl']],
  apply: [['Run the steps that are not done (stops at the air gap):', 'certwright apply --file ./estate.yaml --passphrase-file ./pass']],
  'export ansible': [['The estate\'s managed hosts as an Ansible inventory, playbook and roles:', 'certwright export ansible --file ./estate.yaml --out ./fleet']],
  'ansible-secret': [['What the exported play\'s lookup runs for an agent about to restart (prints JSON):', 'certwright ansible-secret --file ./estate.yaml --agent app/web1']],
};
