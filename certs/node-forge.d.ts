// The part of node-forge that certs/pkcs12.ts and certs/pkcs12-decode.ts use (the package ships no types). Bytes
// are forge "binary strings": one char per byte.
declare module 'node-forge' {
  namespace forge {
    namespace util {
      class ByteStringBuffer {
        constructor(bytes?: string);
        getBytes(): string;
        bytes(): string;
        length(): number;
      }
      function createBuffer(bytes?: string, encoding?: string): ByteStringBuffer;
      function encodeUtf8(s: string): string;
    }
    namespace random {
      function getBytesSync(count: number): string;
    }
    namespace asn1 {
      enum Class { UNIVERSAL = 0x00, CONTEXT_SPECIFIC = 0x80 }
      enum Type { INTEGER = 2, OCTETSTRING = 4, NULL = 5, OID = 6, SEQUENCE = 16, SET = 17, BMPSTRING = 30 }
      interface Asn1 { tagClass: number; type: number; constructed: boolean; value: Asn1[] | string }
      function create(tagClass: number, type: number, constructed: boolean, value: Asn1[] | string): Asn1;
      function toDer(obj: Asn1): util.ByteStringBuffer;
      function fromDer(bytes: string | util.ByteStringBuffer, options?: { strict?: boolean }): Asn1;
      function oidToDer(oid: string): util.ByteStringBuffer;
      function derToOid(bytes: string): string;
      function integerToDer(n: number): util.ByteStringBuffer;
    }
    namespace md {
      interface MessageDigest { readonly algorithm: string; update(bytes: string): MessageDigest; digest(): util.ByteStringBuffer }
      namespace sha1 { function create(): MessageDigest }
      namespace sha256 { function create(): MessageDigest }
    }
    namespace hmac {
      interface Hmac { start(md: md.MessageDigest | string, key: string | util.ByteStringBuffer): void; update(bytes: string): void; getMac(): util.ByteStringBuffer }
      function create(): Hmac;
    }
    namespace pkcs5 {
      function pbkdf2(password: string, salt: string, iterations: number, keyLength: number, md?: string): string;
    }
    namespace cipher {
      interface BlockCipher { start(o: { iv: string }): void; update(data: util.ByteStringBuffer): void; finish(): boolean; output: util.ByteStringBuffer }
      function createCipher(algorithm: 'AES-CBC', key: string): BlockCipher;
      function createDecipher(algorithm: 'AES-CBC', key: string): BlockCipher;
    }
    namespace pki {
      const oids: Record<string, string>;
    }
    namespace pkcs12 {
      interface Bag { type: string; attributes: Record<string, unknown[]>; asn1: asn1.Asn1; key?: unknown; cert?: unknown }
      interface Pkcs12Pfx { getBags(filter: { bagType?: string; localKeyId?: string; friendlyName?: string }): Record<string, Bag[] | undefined> }
      function pkcs12FromAsn1(obj: asn1.Asn1, strict: boolean, password: string): Pkcs12Pfx;
      function generateKey(password: string, salt: util.ByteStringBuffer, id: number, iterations: number, n: number, md?: md.MessageDigest): util.ByteStringBuffer;
    }
  }
  export default forge;
}
