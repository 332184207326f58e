import { buildCli } from './cli';
import { SHELLS, completionScript } from './shell-completion';

describe(completionScript.name, () => {
  const program = buildCli();

  describe.each(SHELLS)('for %s', (shell) => {
    const script = completionScript(program, shell);

    it('offers every command, and every long option of each', () => {
      for (const command of program.commands) {
        expect(script).toContain(command.name());
        for (const option of command.options) expect(script).toContain(option.long!.slice(2));
      }
    });

    it('offers the choices of an option with choices', () => {
      expect(script).toMatch(/table json sarif/);
      expect(script).toMatch(/bash zsh fish/);
    });
  });

  it('for zsh, keeps each option spec one shell word, brackets in descriptions escaped', () => {
    const script = completionScript(program, 'zsh');
    expect(script).toContain(`'(-o --output)'{-o,--output}'[output format]:format:(table json sarif`);
    expect(script).toContain(`'*'{-f,--filename}'[manifest file, directory (searched recursively`);
    expect(script).toContain(`'(-p --port)'{-p,--port}'[HTTPS port for reviews]:port: '`);
  });

  it('for fish, completes files for file options and nothing else for value options', () => {
    const script = completionScript(program, 'fish');
    expect(script).toContain(
      `complete -c kube-image-bouncer -n '__fish_seen_subcommand_from check' -s f -l filename -r -F`,
    );
    expect(script).toContain(
      `complete -c kube-image-bouncer -n '__fish_use_subcommand; or __fish_seen_subcommand_from serve' -s p -l port -x`,
    );
  });
});
