#!/usr/bin/env node
// Reference outputs of the face-api.js networks for biohub's C face pipeline.
//
// usage: node oracle.js MODEL_DIR OUT.txt IMAGE.jpg...
//
// Output is plain text so that the C test needs no JSON reader; per image:
//   image FILE W H
//   box x y w h score            (absent when nothing was detected)
//   crop x y w h
//   landmarks x0 y0 ... x67 y67
//   descriptor d0 ... d127
//
// Runs face-api.js 0.22.2 on the pure-JS CPU backend of @tensorflow/tfjs-core
// (no native code), JPEG decoded by jpeg-js, and writes per image:
//   box        tiny face detector (inputSize 256, score > 0.5), best box:
//              [x, y, w, h, score] in image pixels
//   landmarks  68-point net on face-api's crop of that box (clipped, floored),
//              [x0, y0, x1, y1, ...] in image pixels
//   descriptor recognition net on the whole image resized to 150x150
//              (face-api's own resize: centred pad to square + bilinear)
// The C test (tests/unit/test_face_oracle.c) feeds its networks exactly the
// same inputs and compares.
'use strict';
const fs = require('fs');
const path = require('path');
const faceapi = require('face-api.js');
const jpeg = require('jpeg-js');

const tf = faceapi.tf;

function loadTensor(file) {
  const raw = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false });
  return tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32');
}

async function main() {
  const [modelDir, outFile, ...images] = process.argv.slice(2);
  if (!modelDir || !outFile || images.length === 0) {
    console.error('usage: node oracle.js MODEL_DIR OUT.txt IMAGE.jpg...');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const out = { backend: tf.getBackend(), images: [] };
  for (const file of images) {
    const img = loadTensor(file);
    const dets = await faceapi.nets.tinyFaceDetector.locateFaces(
      img, new faceapi.TinyFaceDetectorOptions({ inputSize: 256, scoreThreshold: 0.5 }));
    const rec = { file: path.basename(file), width: img.shape[1], height: img.shape[0] };
    if (dets.length > 0) {
      const det = dets.reduce((a, b) => (b.score > a.score ? b : a));
      const b = det.box;
      rec.box = [b.x, b.y, b.width, b.height, det.score];
      const crops = await faceapi.extractFaceTensors(img, [det]);
      const clipped = b.clipAtImageBorders(img.shape[1], img.shape[0]);
      const lm = await faceapi.nets.faceLandmark68Net.detectLandmarks(crops[0]);
      rec.crop = [clipped.x, clipped.y, clipped.width, clipped.height];
      rec.landmarks = [];
      for (const p of lm.positions) rec.landmarks.push(p.x + clipped.x, p.y + clipped.y);
      crops.forEach((t) => t.dispose());
    }
    const desc = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(img);
    rec.descriptor = Array.from(desc);
    out.images.push(rec);
    img.dispose();
  }
  const lines = [`# face-api.js 0.22.2 reference, backend ${out.backend}`];
  const num = (a) => a.map((v) => v.toPrecision(9)).join(' ');
  for (const r of out.images) {
    lines.push(`image ${r.file} ${r.width} ${r.height}`);
    if (r.box) {
      lines.push(`box ${num(r.box)}`);
      lines.push(`crop ${r.crop.join(' ')}`);
      lines.push(`landmarks ${num(r.landmarks)}`);
    }
    lines.push(`descriptor ${num(r.descriptor)}`);
  }
  fs.writeFileSync(outFile, lines.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
