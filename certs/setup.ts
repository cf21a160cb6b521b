// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs
// reflect-metadata loaded once per process, and it must be told to use Node's WebCrypto.
// Every entry point (CLI, tests, benchmarks) imports this module first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);
