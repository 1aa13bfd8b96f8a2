import QRCode from "qrcode";
import { describe, expect, it } from "vitest";
import { invitationIn, invitationInFrame } from "./scanner";

/** A QR code drawn as a camera frame would hold it: RGBA pixels, `scale` pixels per module, a white margin. */
function frameOf(text: string, scale = 4, margin = 4): { pixels: Uint8ClampedArray; size: number } {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const modules = qr.modules.size;
  const size = (modules + 2 * margin) * scale;
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let y = 0; y < modules; y++) {
    for (let x = 0; x < modules; x++) {
      if (!qr.modules.get(y, x)) continue;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const at = (((y + margin) * scale + dy) * size + (x + margin) * scale + dx) * 4;
          pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
        }
      }
    }
  }
  return { pixels, size };
}

describe("scanning an invitation", () => {
  it("reads the invitation's full text from a frame showing its QR code", () => {
    const text = "sunspace:041-DXN-3T4-VC9-BFX-RRK-3GR@/ip4/192.168.1.20/tcp/4001/p2p/12D3KooWSH4rNofjhWTWJJedW5WX5BXY43okeJSZ79yhz6CnXLMj";
    const { pixels, size } = frameOf(text);
    expect(invitationInFrame(pixels, size, size)).toBe(text);
  });

  it("ignores frames with no code and QR codes that are not invitations", () => {
    const blank = new Uint8ClampedArray(64 * 64 * 4).fill(255);
    expect(invitationInFrame(blank, 64, 64)).toBeNull();
    const { pixels, size } = frameOf("https://example.org/menu");
    expect(invitationInFrame(pixels, size, size)).toBeNull();
  });

  it("accepts a typed code in any case and refuses other text", () => {
    expect(invitationIn(" 041-dxn-3t4-vc9-bfx-rrk-3gr ")).toBe("041-dxn-3t4-vc9-bfx-rrk-3gr");
    expect(invitationIn("041-DXN")).toBeNull();
  });
});
