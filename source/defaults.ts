/**
 * Defaults that more than one module needs. A step's own defaults live on its inputs (steps/defs);
 * what is here is shared between steps, status and doctor, so it is defined once.
 */

/** Where a service user's copy of the environment's CA lives, relative to its home. */
export const DEFAULT_TRUST_PATH = '.config/certwright/ca.pem';

/** The OpenBao image `vault-https --runtime podman` uses when none is named. */
export const DEFAULT_IMAGE = 'quay.io/openbao/openbao:2.7.2';

/** The PKI mount of the environment's intermediate. */
export const DEFAULT_MOUNT = 'pki_int';
