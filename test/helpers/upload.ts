// A request body that proves a front server streams uploads: its second part is only sent once the
// app has seen data, so a front that spooled the whole body before passing it on fails the test.

/**
 * A two-part request body (`part` twice) for `fetch(url, { body, duplex: 'half' })`. The second
 * part waits for `appSawData`; after 5 s without it the upload fails with a message saying the app
 * saw nothing while the upload was still open.
 */
export function twoPartUpload(part: Uint8Array, appSawData: Promise<void>): ReadableStream<Uint8Array> {
  let step = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (step === 0) controller.enqueue(part);
      else if (step === 1) {
        await Promise.race([
          appSawData,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('app saw no data while the upload was still open')), 5000),
          ),
        ]);
        controller.enqueue(part);
      } else controller.close();
      step++;
    },
  });
}
