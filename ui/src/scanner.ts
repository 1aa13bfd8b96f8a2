// Reading an invitation's QR code from camera frames. The camera loop lives in Scanner.tsx; what a frame holds is
// decided here, with jsQR, so it is tested without a camera.
import jsQR from "jsqr";

/** The typed code's shape: three digits, then six groups of three letters or digits ("041-DXN-3T4-VC9-BFX-RRK-3GR"). */
const TYPED_CODE = /^\d{3}(-[0-9A-Z]{3}){6}$/;

/** The invitation a QR code's text holds (a `sunspace:` text or a typed code), or null for any other QR code. */
export function invitationIn(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.startsWith("sunspace:") || TYPED_CODE.test(trimmed.toUpperCase())) return trimmed;
  return null;
}

/** The invitation in one camera frame (RGBA pixels), if the frame shows a Sunspace QR code. */
export function invitationInFrame(pixels: Uint8ClampedArray, width: number, height: number): string | null {
  const found = jsQR(pixels, width, height, { inversionAttempts: "dontInvert" });
  return found ? invitationIn(found.data) : null;
}
