/** The staging broker over HTTPS, as stage-in and stage-out reach it from inside a Fargate task. */
import type { OutputPage } from '../domain/output-list.js';
import type { ReportName, StageReport, StagingBroker, StagingPlan, StagingSession, UploadedFile, UploadRequest } from '../ports/staging.js';

export class HttpBrokerClient implements StagingBroker {
  constructor(private readonly baseUrl: string) {}

  private async call<T>(token: string, path: string, body: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl.replace(/\/+$/, '')}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`staging broker answered ${response.status}: ${text.slice(0, 300)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  session(ticket: string): Promise<StagingSession> {
    return this.call(ticket, 'session', {});
  }

  plan(token: string): Promise<StagingPlan> {
    return this.call(token, 'plan', {});
  }

  uploadTargets(token: string, files: UploadRequest[]): Promise<string[]> {
    return this.call(token, 'upload-targets', { files });
  }

  async report(token: string, name: ReportName, report: StageReport): Promise<void> {
    await this.call(token, `report/${name}`, report);
  }

  outputPage(token: string, page: number, files: UploadedFile[]): Promise<OutputPage> {
    return this.call(token, `outputs/${page}`, { files });
  }
}
