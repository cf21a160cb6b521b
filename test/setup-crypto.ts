// @peculiar/x509 needs reflect-metadata and a WebCrypto provider before first use.
import '../certs/setup.ts';
