package dev.drover.manifest;

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

    @ParameterizedTest
    @ValueSource(strings = {"time=10:60", "time=1:60:00", "time=1:00:60", "time=2-24", "time=2-23:60", "time=-5",
            "time=1-2-3", "partition=-cpu", "partition=--uid=0", "reservation=-r", "time=999999999"})
    void refusesWhatSbatchWouldRefuseLater(String pair) {
        assertTrue(refusal(pair).contains("is not valid: expected"), pair);
    }

    @ParameterizedTest
    @ValueSource(strings = {"time=59:59", "time=100:00:00", "time=0-23:59:59", "time=UNLIMITED", "partition=cpu-1"})
    void acceptsTheEdgesOfEachRange(String pair) {
        JobResources.parse(pair);
    }

    @Test
    void theJsonFormIsAsStrictAsAManifest() {
        assertTrue(refusal("{\"mem\": \"1G\", \"mem\": \"2G\"}").contains("'mem' is given twice"));
        assertTrue(refusal("{\"mem\": \"1G\"} {\"time\": \"5\"}").contains("more after the end"));
        assertTrue(refusal("{\"mem\": \"1G\",}").contains("trailing comma"));
        assertTrue(refusal("{\"mem\": \"1G\", \"MEM\": \"2G\"}").contains("given twice"), "keys differing in case");
    }

    @Test
    void imagesAreCheckedAsKubernetesParsesThem() {
        assertTrue(refusal("image=Team/Tool").contains("must be lower case"));
        assertTrue(refusal("image=tool:-1").contains("is not a tag"));
        assertEquals("localhost:5000/tool@sha256:" + "a".repeat(64),
                JobResources.parse("image=localhost:5000/tool@sha256:" + "a".repeat(64)).get("image"));
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
