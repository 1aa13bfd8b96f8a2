// Scanning the inviter's QR code with the camera, when this device has one. Frames are read on the device and
// never leave it; what a frame holds is decided in ./scanner (tested). Without a camera, typing the code works.
import { useEffect, useRef, useState } from "preact/hooks";
import { invitationInFrame } from "./scanner";

/** Whether this window can ask for a camera at all. */
export function cameraPossible(): boolean {
  return typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getUserMedia === "function";
}

export function Scanner({ onCode }: { onCode: (code: string) => void }) {
  const [scanning, setScanning] = useState(false);
  const [problem, setProblem] = useState("");
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (!scanning) return;
    let stream: MediaStream | null = null;
    let frame = 0;
    let stopped = false;
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const look = () => {
      if (stopped) return;
      const v = video.current;
      if (v && context && v.readyState >= v.HAVE_CURRENT_DATA && v.videoWidth > 0) {
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        context.drawImage(v, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
        const code = invitationInFrame(pixels.data, pixels.width, pixels.height);
        if (code) {
          setScanning(false);
          onCode(code);
          return;
        }
      }
      frame = requestAnimationFrame(look);
    };
    // A platform that never answers is treated like one that says no, so the person is not left waiting.
    const noAnswer = new Promise<never>((_, fail) => setTimeout(() => fail(new Error("no answer")), 10_000));
    const asked = navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    let gaveUp = false;
    // A camera that opens after we gave up, or after the scanner closed, is closed again at once.
    asked.then((late) => (gaveUp || stopped) && late.getTracks().forEach((t) => t.stop())).catch(() => {});
    Promise.race([asked, noAnswer])
      .then((opened) => {
        stream = opened;
        if (stopped) return opened.getTracks().forEach((t) => t.stop());
        if (video.current) {
          video.current.srcObject = opened;
          void video.current.play();
        }
        frame = requestAnimationFrame(look);
      })
      .catch(() => {
        gaveUp = true;
        setProblem("No camera could be opened on this device. Type the code instead.");
        setScanning(false);
      });
    return () => {
      stopped = true;
      cancelAnimationFrame(frame);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [scanning]);
  if (!cameraPossible()) return null;
  return (
    <div class="scanner">
      {!scanning && (
        <button type="button" class="secondary" data-testid="scan" onClick={() => { setProblem(""); setScanning(true); }}>
          Scan their QR code with the camera
        </button>
      )}
      {scanning && (
        <>
          <video ref={video} muted playsInline aria-label="Camera view: hold their QR code in front of it" />
          <button type="button" class="secondary" onClick={() => setScanning(false)}>Stop the camera</button>
        </>
      )}
      {problem && <p class="warning" role="status">{problem}</p>}
    </div>
  );
}
