package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.run.Settings;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

/** `drover completion bash`: a completion script for commands, options, and the run ids of the runs directory. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Print a shell completion script for drover's commands and options, and for run ids (those in"
                + " --runs-dir when given on the line, else in drover.runs-dir) and task ids after them.",
                "Load it with: source <(drover completion bash)  (zsh: autoload bashcompinit; bashcompinit first)."})
final class CompletionCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SHELL", description = "bash (zsh reads it through bashcompinit).",
            completionCandidates = Shells.class)
    String shell;

    @Spec
    CommandSpec spec;

    static final class Shells extends java.util.ArrayList<String> {
        Shells() {
            super(java.util.List.of("bash"));
        }
    }

    @Override
    public Integer call() {
        if (!shell.equals("bash") && !shell.equals("zsh")) {
            System.err.println("drover: completion: '" + shell + "' is not supported: use bash (zsh loads it through"
                    + " bashcompinit)");
            return ErrorHandler.USAGE;
        }
        String runsDir = Settings.load(DroverRuntime.home()).text("drover.runs-dir");
        System.out.print(AutoComplete.bash("drover", spec.root().commandLine()));
        System.out.print(RUN_IDS.replace("@RUNS_DIR@", "'" + runsDir.replace("'", "'\\''") + "'"));
        return 0;
    }

    /**
     * Wraps picocli's completion: after status, logs, cancel and resume the first word is a run id (a folder with a
     * journal), after logs RUN_ID the second is a task id (a log of that run).
     */
    private static final String RUN_IDS = """

            # Run ids and task ids, read from the runs directory at each Tab.
            function _drover_runs_complete() {
              local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} dir=@RUNS_DIR@ i words=()
              for ((i = 2; i < COMP_CWORD; i++)); do
                if [[ ${COMP_WORDS[i]} == --runs-dir ]]; then dir=${COMP_WORDS[i+1]}; ((i++));
                elif [[ ${COMP_WORDS[i]} == --runs-dir=* ]]; then dir=${COMP_WORDS[i]#--runs-dir=};
                elif [[ ${COMP_WORDS[i]} != -* ]]; then words+=("${COMP_WORDS[i]}"); fi
              done
              case "${COMP_WORDS[1]}" in
                status|logs|cancel|resume)
                  if [[ $cur != -* && $prev != --runs-dir && $prev != --timeout ]]; then
                    local ids=() path
                    if (( ${#words[@]} == 0 )); then
                      for path in "$dir"/*/journal.log; do [[ -e $path ]] && path=${path%/journal.log} && ids+=("${path##*/}"); done
                    elif [[ ${COMP_WORDS[1]} == logs && ${#words[@]} == 1 ]]; then
                      for path in "$dir/${words[0]}"/logs/*.log; do [[ -e $path ]] && path=${path%.log} && ids+=("${path##*/}"); done
                    fi
                    COMPREPLY=( $(compgen -W "${ids[*]}" -- "$cur") )
                    return 0
                  fi;;
              esac
              _complete_drover "$@"
            }
            complete -F _drover_runs_complete -o default drover
            """;
}
