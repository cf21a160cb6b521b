// Minimal typings for the parts of dns-packet 5.x that Plexus uses (no @types package is
// installed). Records are loosely typed on purpose: the library takes plain objects.
declare module 'dns-packet' {
  export interface Question { name: string; type: string; class?: string }
  export interface Answer {
    name: string;
    type: string;
    class?: string;
    ttl?: number;
    data?: unknown;
    udpPayloadSize?: number;
    extendedRcode?: number;
    ednsVersion?: number;
    flags?: number;
    flag_do?: boolean;
    options?: { code: number | string; data?: Buffer }[];
  }
  export interface Packet {
    id?: number;
    type?: 'query' | 'response';
    flags?: number;
    flag_qr?: boolean;
    flag_aa?: boolean;
    flag_tc?: boolean;
    flag_rd?: boolean;
    rcode?: string;
    opcode?: string;
    questions?: Question[];
    answers?: Answer[];
    authorities?: Answer[];
    additionals?: Answer[];
  }
  export function encode(packet: Packet, buf?: Buffer, offset?: number): Buffer;
  export function decode(buf: Buffer, offset?: number): Packet;
  export function encodingLength(packet: Packet): number;
  export const AUTHORITATIVE_ANSWER: number;
  export const TRUNCATED_RESPONSE: number;
  export const RECURSION_DESIRED: number;
  const dnsPacket: {
    encode: typeof encode;
    decode: typeof decode;
    encodingLength: typeof encodingLength;
    AUTHORITATIVE_ANSWER: number;
    TRUNCATED_RESPONSE: number;
    RECURSION_DESIRED: number;
  };
  export default dnsPacket;
}
