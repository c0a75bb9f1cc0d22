/**
 * Resolves at the next animation frame, or after `fallbackMs` where no frame comes (a
 * hidden page gets none).
 */
export function nextFrame(fallbackMs = 50): Promise<void> {
  return new Promise((resolve) => {
    let frame = 0;
    const timer = setTimeout(() => {
      cancelAnimationFrame(frame);
      resolve();
    }, fallbackMs);
    frame = requestAnimationFrame(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
