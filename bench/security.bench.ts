/**
 * What authenticating an earbud would cost it (security issue: "measure a JS construction on the real
 * interpreter and choose what fits"), measured on the REAL Espruino interpreter with callgrind:
 *
 *   security.hmac_sha256_js_instr          x86 instructions of one HMAC-SHA256 (16-byte key, 32-byte
 *                                          message) with SHA-256 written in JavaScript (the boards
 *                                          without native crypto: nRF52840 DK, micro:bit v2, Thingy:52)
 *   security.hmac_sha256_js_ms             the same as ms of a 64 MHz nRF52 (central calibration;
 *                                          `_low` / `_high`: firmware/sim/espruino/cost/cpu.ts's band)
 *   security.hmac_sha256_native_instr/_ms  the same with Espruino's native `require('crypto').SHA256`
 *                                          (Puck.js and MDBT42Q builds include it)
 *
 * The JavaScript SHA-256 below is checked against Node's crypto before it is measured. Needs the
 * interpreter's toolchain and valgrind (scripts/install-system-deps.sh); without them the bench says so
 * and writes nothing.
 */
import { createHmac } from 'node:crypto';
import { toolchainProblem } from '@budlink/sim/espruino/build';
import { CALIBRATION, NRF52_HZ } from '@budlink/sim/espruino/cpu';
import { realSnippetCost } from '@budlink/sim/espruino/cost';
import type { Bench } from './run';

/** SHA-256 in the JavaScript Espruino runs (Uint32Array state, 32-bit operations only). */
const SHA256_JS = `
var K=new Uint32Array([0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
var W=new Uint32Array(64);
function sha256(m){var l=m.length,n=((l+9+63)>>6)<<6,b=new Uint8Array(n);b.set(m);b[l]=0x80;var bits=l*8;b[n-4]=bits>>>24;b[n-3]=(bits>>>16)&255;b[n-2]=(bits>>>8)&255;b[n-1]=bits&255;
var h=new Uint32Array([0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19]);
for(var o=0;o<n;o+=64){for(var i=0;i<16;i++)W[i]=(b[o+4*i]<<24)|(b[o+4*i+1]<<16)|(b[o+4*i+2]<<8)|b[o+4*i+3];
for(i=16;i<64;i++){var x=W[i-15],y=W[i-2];W[i]=(((x>>>7)|(x<<25))^((x>>>18)|(x<<14))^(x>>>3))+W[i-7]+(((y>>>17)|(y<<15))^((y>>>19)|(y<<13))^(y>>>10))+W[i-16];}
var a=h[0],c=h[1],d=h[2],e=h[3],f=h[4],g=h[5],k=h[6],p=h[7];
for(i=0;i<64;i++){var t1=p+(((f>>>6)|(f<<26))^((f>>>11)|(f<<21))^((f>>>25)|(f<<7)))+((f&g)^(~f&k))+K[i]+W[i];var t2=(((a>>>2)|(a<<30))^((a>>>13)|(a<<19))^((a>>>22)|(a<<10)))+((a&c)^(a&d)^(c&d));p=k;k=g;g=f;f=(e+t1)|0;e=d;d=c;c=a;a=(t1+t2)|0;}
h[0]+=a;h[1]+=c;h[2]+=d;h[3]+=e;h[4]+=f;h[5]+=g;h[6]+=k;h[7]+=p;}
var r=new Uint8Array(32);for(i=0;i<8;i++){r[4*i]=h[i]>>>24;r[4*i+1]=(h[i]>>>16)&255;r[4*i+2]=(h[i]>>>8)&255;r[4*i+3]=h[i]&255;}return r;}
`;

/** HMAC (RFC 2104) over `hash`, and the key and message measured. */
const hmacJs = (hash: string): string => `
function hmac(key,msg){var kb=new Uint8Array(64);kb.set(key);var ip=new Uint8Array(64+msg.length),op=new Uint8Array(96);
for(var i=0;i<64;i++){ip[i]=kb[i]^0x36;op[i]=kb[i]^0x5c;}ip.set(msg,64);op.set(${hash}(ip),64);return ${hash}(op);}
var KEY=new Uint8Array(16);for(var q=0;q<16;q++)KEY[q]=q+1;var MSG=new Uint8Array(32);for(q=0;q<32;q++)MSG[q]=q*7&255;var OUT;
`;

const NATIVE_SHA256 = `function nsha(m){return new Uint8Array(require('crypto').SHA256(m));}`;

const KEY = Buffer.from(Array.from({ length: 16 }, (_, i) => i + 1));
const MSG = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7) & 255));

/** The JavaScript HMAC, run in Node, must match Node's own. */
function checkJs(): void {
  const run = new Function(`${SHA256_JS}${hmacJs('sha256')}return hmac(KEY, MSG);`) as () => Uint8Array;
  const ours = Buffer.from(run()).toString('hex');
  const node = createHmac('sha256', KEY).update(MSG).digest('hex');
  if (ours !== node) throw new Error(`the JavaScript HMAC-SHA256 is wrong: ${ours} != ${node}`);
}

const ms = (instr: number, k: number): number => Math.round(((instr * k * 1000) / NRF52_HZ) * 10) / 10;

const bench: Bench = {
  name: 'security',
  async run() {
    const problem = toolchainProblem();
    if (problem) {
      process.stdout.write(`  security: no real interpreter here (${problem})\n`);
      return {};
    }
    checkJs();
    const js = await realSnippetCost('nrf52840dk', {
      name: 'hmac-sha256-js',
      setup: SHA256_JS + hmacJs('sha256'),
      body: 'OUT=hmac(KEY,MSG)',
    });
    const native = await realSnippetCost('puckjs', {
      name: 'hmac-sha256-native',
      setup: NATIVE_SHA256 + hmacJs('nsha'),
      body: 'OUT=hmac(KEY,MSG)',
    });
    const out: Record<string, number> = {};
    for (const [name, instr] of [
      ['js', js],
      ['native', native],
    ] as const) {
      out[`security.hmac_sha256_${name}_instr`] = Math.round(instr);
      out[`security.hmac_sha256_${name}_ms`] = ms(instr, CALIBRATION.central);
      out[`security.hmac_sha256_${name}_ms_low`] = ms(instr, CALIBRATION.low);
      out[`security.hmac_sha256_${name}_ms_high`] = ms(instr, CALIBRATION.high);
    }
    return out;
  },
};
export default bench;
