// Names every test that failed and then passed on its retry, at the end of the run, so a flaky test is never silent.
import type { Reporter, TestCase } from 'vitest/node';

export class FlakyReporter implements Reporter {
  #flaky: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const diagnostic = testCase.diagnostic();
    if (diagnostic?.flaky) this.#flaky.push(`${testCase.module.moduleId} > ${testCase.fullName} (passed on retry ${diagnostic.retryCount})`);
  }

  onTestRunEnd(): void {
    if (this.#flaky.length === 0) return;
    const lines = this.#flaky.map((name) => `  ${name}`).join('\n');
    process.stdout.write(`\nswarmcast: ${this.#flaky.length} test(s) failed once and passed on their retry (flaky):\n${lines}\n`);
  }
}
