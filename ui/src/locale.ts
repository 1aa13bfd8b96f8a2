// Some systems report a locale the browser's Intl cannot use (LANG=C gives navigator.language "C"), and the chart
// library formats numbers with navigator.language as soon as it loads: with "C" it throws and the window stays
// blank. Imported first by main.tsx, this falls back to English when the reported locale is unusable.
function usable(tag: string): boolean {
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

if (typeof navigator !== "undefined" && !usable(navigator.language)) {
  Object.defineProperty(navigator, "language", { value: "en", configurable: true });
}

export { usable as localeUsable };
