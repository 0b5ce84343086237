/** The next message of a stream, or a failure after `timeoutMs`: a watch that stays silent fails the test instead of hanging it. */
export async function nextWithin<T>(messages: AsyncIterator<T>, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("no message in time")), timeoutMs)));
  try {
    const next = await Promise.race([messages.next(), timeout]);
    if (next.done) throw new Error("the stream ended");
    return next.value;
  } finally {
    clearTimeout(timer);
  }
}
