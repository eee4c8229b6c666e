package dev.drover.plan;

import dev.drover.manifest.ManifestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobResourcesTest {

    private static String refusal(Object spec) {
        return assertThrows(ManifestException.class, () -> JobResources.parse(spec)).getMessage();
    }

    @Test
    void parsesPairsWithDashesOrUnderscoresIntoDashedSbatchOptions() {
        JobResources r = JobResources.parse("mem=10M,time=00:05:00,partition=cpu,cpus-per-task=4,ntasks_per_node=1");
        assertEquals(List.of("--mem=10M", "--time=00:05:00", "--partition=cpu", "--cpus-per-task=4",
                "--ntasks-per-node=1"), r.sbatchOptions());
        assertEquals("4", r.get("cpus_per_task"));
    }

    @Test
    void jsonFormCarriesCommasInValues() {
        JobResources r = JobResources.parse("{\"nodelist\": \"node1,node2\", \"mem\": 2048}");
        assertEquals(List.of("--nodelist=node1,node2", "--mem=2048"), r.sbatchOptions());
    }

    @Test
    void aMapFromTheManifestWorksToo() {
        assertEquals("32G", JobResources.parse(Map.of("mem", "32G")).get("mem"));
    }

    @Test
    void slurmRangesWorkInPairs() {
        assertEquals("n[1-2]", JobResources.parse("nodelist=n[1-2]").get("nodelist"));
    }

    @Test
    void aBareCommaValueSaysHowToWriteIt() {
        String message = refusal("exclude=n1,n2");
        assertTrue(message.contains("'n2' is not key=value"), message);
        assertTrue(message.contains("JSON form"), message);
    }

    @Test
    void unknownKeysListTheValidOnes() {
        String message = refusal("memory=10G");
        assertTrue(message.contains("unknown key 'memory'"), message);
        assertTrue(message.contains("cpus_per_task"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10M", "32G", "1024", "500k", "1T"})
    void acceptsSlurmMemorySizes(String mem) {
        assertEquals(mem, JobResources.parse("mem=" + mem).get("mem"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"5", "5:30", "1:00:00", "2-12", "2-12:30", "2-12:30:15", "00:05:00"})
    void acceptsEverySlurmTimeForm(String time) {
        assertEquals(time, JobResources.parse("time=" + time).get("time"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem=lots", "mem=-1G", "time=5min", "time=1:2:3:4", "cpus_per_task=0",
            "cpus_per_task=two", "ntasks=1.5", "nice=high", "partition=a b", "partition=cpu;reboot",
            "partition=$(reboot)", "constraint=a`b`", "gres=gpu:1\"", "reservation=r\\n"})
    void refusesValuesSlurmWouldNotTakeOrThatCouldEscape(String pair) {
        assertTrue(refusal(pair).contains("is not valid: expected"));
    }

    @Test
    void refusesControlCharactersThatCouldStartANewDirective() {
        String message = refusal(Map.of("partition", "cpu\n#SBATCH --uid=0"));
        assertTrue(message.contains("control character"), message);
    }

    @Test
    void refusesDuplicatesAndEmptyInput() {
        assertTrue(refusal("mem=1G,mem=2G").contains("given twice"));
        assertTrue(refusal("").contains("is empty"));
        assertTrue(refusal("{not json").contains("not valid JSON"));
    }

    @Test
    void batchSizeNeverReachesTheScheduler() {
        JobResources r = JobResources.parse("batch-size=50,mem=32G");
        assertEquals("50", r.get(JobResources.BATCH_SIZE));
        assertEquals(List.of("--mem=32G"), r.sbatchOptions());
    }
}
