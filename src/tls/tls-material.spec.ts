import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from './certificate-issuer';
import { TlsMaterialError, httpsServerOptions, loadTlsMaterial } from './tls-material';

describe(loadTlsMaterial.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-material-'));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('makes a self-signed server certificate for loopback and the listen address when none is given', async () => {
    const material = await loadTlsMaterial({}, '10.1.2.3');
    const certificate = new X509Certificate(material.certificatePem);

    expect(material.selfSigned).toBe(true);
    expect(certificate.fingerprint256).toBe(material.fingerprint256);
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(certificate.checkHost('localhost')).toBe('localhost');
    expect(certificate.verify(certificate.publicKey)).toBe(true);
  });

  it('loads a certificate, key and client CA, and asks for client certificates', async () => {
    const ca = await createCertificateAuthority({ commonName: 'ca' });
    const server = await issueCertificate(ca, {
      commonName: 's',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    const material = await loadTlsMaterial(
      {
        certificatePath: write('s.crt', server.certificatePem),
        keyPath: write('s.key', server.privateKeyPem),
        clientCaPath: write('ca.crt', ca.certificatePem),
      },
      '0.0.0.0',
    );

    expect(material).toMatchObject({ selfSigned: false, fingerprint256: server.fingerprint256 });
    expect(httpsServerOptions(material)).toMatchObject({
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: true,
      ca: ca.certificatePem,
    });
  });

  it('does not ask for client certificates without a client CA', async () => {
    const options = httpsServerOptions(await loadTlsMaterial({}, '0.0.0.0'));
    expect(options).toMatchObject({ requestCert: false, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
  });

  it('names the file when a certificate is not PEM', async () => {
    const bad = write('bad.crt', 'not a certificate');
    const loading = loadTlsMaterial({ certificatePath: bad, keyPath: bad }, '0.0.0.0');
    await expect(loading).rejects.toBeInstanceOf(TlsMaterialError);
    await expect(loading).rejects.toThrow(`--cert ${bad} is not a PEM certificate: `);
  });
});
