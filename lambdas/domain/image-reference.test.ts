import { describe, expect, it } from 'vitest';
import { qualifiedImage } from './image-reference.js';

describe('qualified image names', () => {
  it.each([
    ['ubuntu', 'docker.io/library/ubuntu'],
    ['ubuntu:24.04', 'docker.io/library/ubuntu:24.04'],
    ['biocontainers/samtools:v1.9', 'docker.io/biocontainers/samtools:v1.9'],
    ['quay.io/biocontainers/samtools:1.19', 'quay.io/biocontainers/samtools:1.19'],
    ['localhost/tes-test/busybox:1', 'localhost/tes-test/busybox:1'],
    ['registry:5000/x', 'registry:5000/x'],
    ['[::1]:5000/x', '[::1]:5000/x'],
    [`alpine@sha256:${'a'.repeat(64)}`, `docker.io/library/alpine@sha256:${'a'.repeat(64)}`],
  ])('%s is pulled as %s, as Docker and ECS read it', (image, qualified) => {
    expect(qualifiedImage(image)).toBe(qualified);
  });
});
